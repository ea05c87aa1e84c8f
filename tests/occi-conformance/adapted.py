"""Runs pOCCI's OCCI/CORE/DELETE/001 against the kind configured as occi.tests.category.

The test itself uses that kind, but the helper it creates its entity with
(INFRA_CREATE_COMMON) looks the kind up as the infrastructure `compute` kind whatever it is
told, so against disco it stops at "No OCCI Kind found". Here that one lookup is redirected to
the configured kind; everything else is pOCCI's code, unchanged.

Usage: python adapted.py <mime type>     (PYTHONPATH and HOME as run.sh sets them)
"""

import sys

from pOCCI import CORE, occi
from pOCCI.occi_libs import occi_config, occi_format, occi_init, occi_print, occi_test

INFRA = "http://schemas.ogf.org/occi/infrastructure#"
search = CORE.Test.search_category.__func__


def search_configured(cls, wanted):
    if (
        wanted.get("class") == "kind"
        and wanted.get("term") == "compute"
        and wanted.get("scheme") == INFRA
    ):
        wanted = dict(occi_config["occi.tests.category"], **{"class": "kind"})
    return search(cls, wanted)


def main(mime):
    CORE.Test.search_category = classmethod(search_configured)
    occi_config["mimetype"] = mime
    occi_init()
    CORE.testsuite_init()
    try:
        status, reasons = CORE.CORE_DELETE001.test()
    except occi.Error as error:
        status, reasons = False, [f"pOCCI error: {error}"]
    test = CORE.CORE_DELETE001
    results = occi_format([occi_test("OCCI/CORE/DELETE/001", test.objective, status, reasons)])
    occi_print(results, "json")


if __name__ == "__main__":
    main(sys.argv[1])
