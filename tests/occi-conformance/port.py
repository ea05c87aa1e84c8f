"""Finishes the Python 3 port of pOCCI 1.0.3 after 2to3 (run.sh runs fissix first), and with
--fix-parser also corrects two bugs of pOCCI's text parser.

Port: 2to3 converts print statements, relative imports, ConfigParser, urlparse and StringIO.
What it leaves is Python 3.11's refusal of an inline flag that is not at the start of a
pattern (`^(?i)category:`): each such pattern becomes the same pattern with re.I, which is
what Python 2 made of it.

--fix-parser (pOCCI's own bugs, present in Python 2 as well; see README.md):
  1. Category and Link lines are split at every `;`, even inside a quoted string, so a valid
     `title="a; b"` (GFD.229 4.1: title is a quoted-string) is refused. The fix splits only
     outside quoted strings and otherwise keeps pOCCI's behaviour (empty chunks stay errors).
  2. A quoted attribute value with a quoted-pair (`"[{\"a\":1}]"`, RFC 7230 3.2.6) is refused
     as "Unexpected quotes": the length check runs after unescaping. The fix checks for
     unescaped quotes before unescaping.

Every replacement must match exactly once, so a different pOCCI fails here instead of being
patched wrongly.

Usage: python port.py [--fix-parser] <pOCCI package directory>
"""

import pathlib
import sys

PORT = {
    "render_text.py": [
        (r"re.compile(r'^(?i)category:\s*')", r"re.compile(r'^category:\s*', re.I)"),
        (r"re.compile(r'^(?i)link:\s*')", r"re.compile(r'^link:\s*', re.I)"),
        (
            r"re.compile(r'^(?i)x-occi-attribute:\s*')",
            r"re.compile(r'^x-occi-attribute:\s*', re.I)",
        ),
        (
            r"re.compile(r'^((?i)x-occi-location|location):\s*(.*)')",
            r"re.compile(r'^(x-occi-location|location):\s*(.*)', re.I)",
        ),
    ],
}

SPLIT_UNQUOTED = '''

def split_unquoted(body):
    """[port.py --fix-parser] Split at ';' outside quoted strings, like re.split(r';\\s*')."""
    chunks, current, quoted, escaped = [], '', False, False
    for ch in body:
        if escaped:
            escaped = False
        elif quoted and ch == '\\\\':
            escaped = True
        elif ch == '"':
            quoted = not quoted
        elif ch == ';' and not quoted:
            chunks.append(current)
            current = ''
            continue
        current += ch
    chunks.append(current)
    return chunks[:1] + [c.lstrip() for c in chunks[1:]]
'''

FIX_PARSER = {
    "render_text.py": [
        ("eol = '\\r\\n'\n", "eol = '\\r\\n'\n" + SPLIT_UNQUOTED),
        (
            "        category = occi.Category()\n\n        chunks = TextRenderer.reChunks.split(body)",
            "        category = occi.Category()\n\n        chunks = split_unquoted(body)",
        ),
        (
            "        link = occi.Link()\n\n        chunks = TextRenderer.reChunks.split(body)",
            "        link = occi.Link()\n\n        chunks = split_unquoted(body)",
        ),
        (
            "            value = TextRenderer.reStringUnescape.sub(r'\\1', value)\n"
            "            if len(value) + 2 < len(body):\n",
            "            unescaped = re.match(r'(?:[^\"\\\\]|\\\\.)*$', value)\n"
            "            value = TextRenderer.reStringUnescape.sub(r'\\1', value)\n"
            "            if not unescaped:\n",
        ),
    ],
}


def apply(root, fixes):
    for name, pairs in fixes.items():
        path = root / name
        text = path.read_text()
        for old, new in pairs:
            if text.count(old) != 1:
                sys.exit(f"port.py: expected one `{old}` in {path}")
            text = text.replace(old, new)
        path.write_text(text)


def main(args):
    fix_parser = "--fix-parser" in args
    root = pathlib.Path([a for a in args if a != "--fix-parser"][0])
    apply(root, PORT)
    if fix_parser:
        apply(root, FIX_PARSER)


if __name__ == "__main__":
    main(sys.argv[1:])
