#!/usr/bin/env python3
"""Offline validation of Heat stack-create requests with real OpenStack Heat code.

Usage: validate_template.py [-v] [--graph] FILE [FILE ...]   (FILE may be '-' for stdin)

Each FILE is the JSON body a client sends to Heat's stack-create API:
    {"template": {...HOT as a JSON object...},
     "parameters": {name: value},
     "files": {name: content-string},
     "environment": {optional Heat environment object},
     ... optional stack-create arguments (stack_name, timeout_mins, ...)}

For each FILE prints one line, "FILE: valid" or "FILE: INVALID: <Heat's message>".
With --graph, a valid FILE gets a second line, "FILE: graph: {JSON}": the dependency graph
heat-engine computed for the stack, each resource mapped to the sorted names of the
resources it waits for (depends_on, get_resource, get_attr), directly.
Exit status: 0 all valid, 1 some invalid, 2 usage error.

What runs is Heat's own stack-create path: heat-api's InstantiationData (template size
limit, environment + parameters), template_format.parse, Template(files, environment),
Template.validate and the resources-per-stack limit, Stack() (stack name, arguments) on
an in-memory SQLite database, and the full Stack.validate() heat-engine runs before it
creates anything, with strict value validation: parameter values against their types
and constraints, every resource definition (known type, known and required properties,
property types and constraints, intrinsic functions and their targets, get_file,
dependency cycles, outputs), each resource plugin's own validate(), and through those
the nested stacks of ResourceGroups and provider templates taken from "files".
(Heat's template-validate API uses Stack.validate(validate_res_tmpl_only=True) without
strict values; that skips the plugins' validate() and with it all nested templates.)

Additions to what heat-engine checks before a create:
  * Heat validates nested stacks only non-strictly (values, types and required
    properties inside them are first checked when heat-engine creates the nested stack,
    half-way through the parent's creation). Each nested stack is validated strictly as
    well, as at its own creation; values unknown before creation (the parent passes a
    get_attr or get_resource) are not value-checked, as Heat does for the parent.
  * A ResourceGroup with count 0 has its member template checked as if count were 1.
  * A lint: a one-key map whose key is a near miss of an intrinsic function name
    (get_parm) is rejected; Heat passes it on as data when the property takes a map.

Neutralised, because they need a cloud:
  * the per-resource service-availability check (a Keystone catalogue lookup): every
    service counts as available;
  * custom constraints implemented with an API client (nova.flavor, glance.image,
    neutron.network, nova.keypair, ...; all constraint classes of heat.engine.clients):
    they pass. Constraints computed locally (net_cidr, ip_addr, mac_addr, iso_8601,
    dns_name, ...) stay real;
  * OS::Nova::Server's image/flavor lookup passes, and Nova's API microversion is taken
    to be the newest python-novaclient knows (a current Nova: OS::Nova::KeyPair needs
    public_key, Server has no personality);
  * any other call to a cloud API or to a running heat-engine ends the check that
    made it, which then counts as passed; everything checked before it is kept.

The venv with openstack-heat comes from tests/openstack/install.sh; when this script is
started with a Python that cannot import heat it re-executes itself with that venv's
Python ($DISCO_OPENSTACK_VENV, default ~/.cache/disco/openstack-venv).
"""

import json
import logging
import os
import sys
import warnings

USAGE = ("usage: validate_template.py [-v] [--graph] FILE [FILE ...]"
         "   (FILE may be '-' for stdin)")


def _reexec_in_venv():
    try:
        import heat  # noqa: F401
        return
    except ImportError:
        pass
    venv = os.environ.get("DISCO_OPENSTACK_VENV",
                          os.path.expanduser("~/.cache/disco/openstack-venv"))
    python = os.path.join(venv, "bin", "python")
    if not os.path.exists(python) or os.environ.get("DISCO_VALIDATOR_REEXEC"):
        sys.stderr.write("validate_template.py: cannot import heat; run "
                         "tests/openstack/install.sh first (venv: %s)\n" % venv)
        sys.exit(2)
    os.environ["DISCO_VALIDATOR_REEXEC"] = "1"
    os.execv(python, [python, os.path.abspath(__file__)] + sys.argv[1:])


class CloudAccessNeeded(BaseException):
    """Raised where Heat would talk to Keystone or another OpenStack API.

    A BaseException so that no `except Exception` inside Heat turns it into a
    validation failure; the wrappers installed by _install_offline_guards catch it.
    """


def _setup_heat(verbose):
    warnings.simplefilter("ignore")
    logging.basicConfig(stream=sys.stderr,
                        level=logging.WARNING if verbose else logging.CRITICAL,
                        format="%(levelname)s %(name)s: %(message)s")
    # oslo.config must not see our arguments.
    saved_argv = sys.argv
    sys.argv = ["heat-engine"]
    from oslo_config import cfg
    from heat.common import config as heat_config  # noqa: F401  (registers options)
    cfg.CONF([], project="heat", default_config_files=[], default_config_dirs=[])
    sys.argv = saved_argv
    cfg.CONF.set_override("connection", "sqlite://", group="database")

    from heat.common import messaging
    from heat.db import migration
    from heat.engine import resources
    # Plugins such as ResourceGroup build an RPC client to heat-engine; give them
    # oslo.messaging's in-process fake transport (no broker; calls are guarded below).
    messaging.setup("fake://")
    resources.initialise()
    migration.db_sync()
    _install_offline_guards()


def _all_subclasses(cls):
    seen = set()
    todo = [cls]
    while todo:
        c = todo.pop()
        for sub in c.__subclasses__():
            if sub not in seen:
                seen.add(sub)
                todo.append(sub)
    return seen


def _install_offline_guards():
    from heat.common import context as heat_context
    from heat.engine import resource as heat_resource
    from heat.engine import resources
    from heat.engine.clients import client_plugin
    from heat.engine.clients.os import nova as nova_plugin
    from heat.engine.resources.openstack.nova import server as nova_server
    from heat.rpc import client as rpc_client
    import novaclient

    # 1. Service availability (Keystone catalogue lookup): every service is there.
    heat_resource.Resource.is_service_available = classmethod(
        lambda cls, context: (True, None))

    # 2. Custom constraints backed by API clients pass; local ones stay real.
    def _client_constraint_passes(self, value, context, *args, **kwargs):
        return True
    for cls in set(resources.global_env().constraints.values()):
        if cls.__module__.startswith("heat.engine.clients."):
            cls.validate = _client_constraint_passes

    # 3. The two cloud facts OS::Nova::Server and OS::Nova::KeyPair ask for before
    # their purely local checks: Nova's API microversion (assume a current Nova, the
    # newest novaclient speaks: public_key required, personality gone, ...) and the
    # image/flavor lookup (passes, like the glance.image / nova.flavor constraints).
    nova_plugin.NovaClientPlugin.get_max_microversion = (
        lambda self: novaclient.API_MAX_VERSION.get_string())
    nova_server.Server._validate_image_flavor = lambda self, image, flavor: None

    # 4. Anything else that would reach a cloud (or a running heat-engine): stop
    # there; the plugin method that asked ends early and counts as passed.
    def _no_cloud(*args, **kwargs):
        raise CloudAccessNeeded()
    for name in ("keystone_session", "auth_plugin", "trusts_auth_plugin"):
        setattr(heat_context.RequestContext, name, property(_no_cloud))
    client_plugin.ClientPlugin.client = _no_cloud
    client_plugin.ClientPlugin._create = _no_cloud
    rpc_client.EngineClient.call = _no_cloud
    rpc_client.EngineClient.cast = _no_cloud

    def guard(method):
        def wrapper(self, *args, **kwargs):
            try:
                return method(self, *args, **kwargs)
            except CloudAccessNeeded:
                return None
        wrapper.__wrapped__ = method
        wrapper.__name__ = method.__name__
        return wrapper

    for cls in {heat_resource.Resource} | _all_subclasses(heat_resource.Resource):
        for name in ("validate", "validate_external", "add_dependencies"):
            method = cls.__dict__.get(name)
            if callable(method) and not hasattr(method, "__wrapped__"):
                setattr(cls, name, guard(method))

    _install_strict_nested_validation()


def _install_strict_nested_validation():
    """Validate provider-template stacks (ResourceGroup members, type: x.yaml) strictly.

    Before a create, real Heat validates a nested stack only non-strictly
    (StackResource.validate_nested_stack sets strict_validate = False): parameter
    values, property values and required properties inside it go unchecked until
    heat-engine creates the nested stack, half-way through the parent's creation.
    Here each nested stack made from a template (and each ResourceGroup's stack of
    members) is, after Heat's own non-strict validation, validated once more with
    strict_validate = True, as heat-engine does when it creates it.

    Values unknown before creation are treated the way Heat treats a property that
    uses get_resource/get_attr of a resource not created yet: not value-checked.
    A nested parameter is unknown when the parent's expression for it depends on a
    resource (Heat's own Properties._find_deps_any_in_init) or on an unknown parameter
    of the parent; get_param of it resolves to None, like such a get_attr does.
    """
    import collections.abc
    from heat.engine import function
    from heat.engine import parameters as heat_parameters
    from heat.engine import properties as heat_properties
    from heat.engine import stack as heat_stack
    from heat.engine.hot import functions as hot_functions
    from heat.engine.resources import stack_resource
    from heat.engine.resources import template_resource
    from heat.engine.resources.openstack.heat import resource_group

    def _unknown_names(parameters):
        return getattr(parameters, "_disco_unknown", frozenset())

    def _param_name(fn):
        try:
            args = function.resolve(fn.args)
        except Exception:
            return None
        if isinstance(args, str):
            return args
        if isinstance(args, collections.abc.Sequence) and args:
            return args[0]
        return None

    def _is_unknown(fn):
        unknown = _unknown_names(getattr(fn, "parameters", None))
        return bool(unknown) and _param_name(fn) in unknown

    orig_get_param = hot_functions.GetParam.result

    def get_param_result(self):
        if _is_unknown(self):
            return None
        return orig_get_param(self)
    hot_functions.GetParam.result = get_param_result

    def _mentions_unknown(snippet):
        if isinstance(snippet, hot_functions.GetParam) and _is_unknown(snippet):
            return True
        if isinstance(snippet, function.Function):
            return _mentions_unknown(snippet.args)
        if isinstance(snippet, collections.abc.Mapping):
            return any(_mentions_unknown(v) for v in snippet.values())
        if isinstance(snippet, collections.abc.Iterable) and not isinstance(snippet, str):
            return any(_mentions_unknown(v) for v in snippet)
        return False

    orig_find_deps = heat_properties.Properties._find_deps_any_in_init

    def _find_deps_any_in_init(self, unresolved_value):
        return (orig_find_deps(self, unresolved_value)
                or _mentions_unknown(unresolved_value))
    heat_properties.Properties._find_deps_any_in_init = _find_deps_any_in_init

    orig_params_validate = heat_parameters.Parameters.validate

    def params_validate(self, validate_value=True, context=None):
        unknown = _unknown_names(self)
        if not unknown:
            return orig_params_validate(self, validate_value, context)
        self._validate_user_parameters()
        for param in self.params.values():
            param.validate(validate_value and param.name not in unknown, context)
    heat_parameters.Parameters.validate = params_validate

    def _group_member_properties(group):
        """A ResourceGroup's raw resource_def properties (None: cannot tell)."""
        res_def = group.properties.data.get(group.RESOURCE_DEF)
        if not isinstance(res_def, collections.abc.Mapping):
            return None
        props = res_def.get(group.RESOURCE_DEF_PROPERTIES) or {}
        if not isinstance(props, collections.abc.Mapping):
            return None
        return props

    def _unknown_keys(owner, raw_props):
        return {k for k, v in raw_props.items()
                if owner.properties._find_deps_any_in_init(v)}

    def _unknown_child_params(tr, nested):
        """Parameters of tr's nested stack whose values are unknown before creation."""
        group = getattr(tr.stack, "_disco_parent_resource", None)
        if isinstance(group, stack_resource.StackResource):
            # tr is a member of a group: its definition holds resolved values; the
            # expressions are in the group's resource_def.
            raw = (_group_member_properties(group)
                   if isinstance(group, resource_group.ResourceGroup) else None)
            unknown = set(tr.properties.data) if raw is None else _unknown_keys(group, raw)
        else:
            unknown = _unknown_keys(tr, tr.properties.data)
        return frozenset(unknown & set(nested.parameters.params))

    orig_parse_nested = stack_resource.StackResource._parse_nested_stack

    def _parse_nested_stack(self, *args, **kwargs):
        nested = orig_parse_nested(self, *args, **kwargs)
        nested._disco_parent_resource = self
        if isinstance(self, template_resource.TemplateResource):
            nested.parameters._disco_unknown = _unknown_child_params(self, nested)
        return nested
    stack_resource.StackResource._parse_nested_stack = _parse_nested_stack

    # While a group's member stack is validated strictly: member properties whose
    # expressions in the group's resource_def are unknown before creation.
    unknown_member_props = set()
    orig_get_property_value = heat_properties.Properties._get_property_value

    def _get_property_value(self, key, validate=False):
        if key in unknown_member_props:
            validate = False
        return orig_get_property_value(self, key, validate)
    heat_properties.Properties._get_property_value = _get_property_value

    def _strict_pass(stack, validate, args, kwargs):
        parent = getattr(stack, "_disco_parent_resource", None)
        if stack.strict_validate:
            return
        if isinstance(parent, template_resource.TemplateResource):
            member_props = set()
        elif isinstance(parent, resource_group.ResourceGroup):
            raw = _group_member_properties(parent)
            if raw is None:
                return
            member_props = _unknown_keys(parent, raw)
        else:
            return
        unknown_member_props.update(member_props)
        stack.strict_validate = True
        try:
            validate(stack, *args, **kwargs)
        finally:
            stack.strict_validate = False
            unknown_member_props.clear()

    orig_stack_validate = heat_stack.Stack.validate

    def stack_validate(self, *args, **kwargs):
        result = orig_stack_validate(self, *args, **kwargs)
        _strict_pass(self, orig_stack_validate, args, kwargs)
        return result
    heat_stack.Stack.validate = stack_validate

    # Heat skips a ResourceGroup's member template when count is 0; the template is
    # still sent and used as soon as the group is scaled up, so check it as count 1.
    orig_group_validate_nested = resource_group.ResourceGroup.validate_nested_stack

    def group_validate_nested_stack(self):
        if self.get_size():
            return orig_group_validate_nested(self)
        self.get_size = lambda: 1
        try:
            return orig_group_validate_nested(self)
        finally:
            del self.get_size
    resource_group.ResourceGroup.validate_nested_stack = group_validate_nested_stack


def _load_request(path):
    try:
        if path == "-":
            text = sys.stdin.read()
        else:
            with open(path, encoding="utf-8") as f:
                text = f.read()
    except OSError as ex:
        raise UsageError("%s: cannot read: %s" % (path, ex))
    try:
        data = json.loads(text)
    except ValueError as ex:
        raise InvalidRequest("request is not valid JSON: %s" % ex)
    if not isinstance(data, dict):
        raise InvalidRequest("request is not a JSON object")
    if not isinstance(data.get("template"), dict):
        raise InvalidRequest('request has no "template" object')
    for key in ("parameters", "files", "environment"):
        if key in data and not isinstance(data[key], dict):
            raise InvalidRequest('"%s" must be a JSON object' % key)
    files = data.get("files", {})
    for name, content in files.items():
        if not isinstance(content, str):
            raise InvalidRequest('files["%s"] must be a string' % name)
    return data


class UsageError(Exception):
    pass


class InvalidRequest(Exception):
    pass


def _validate_request(data):
    """Run Heat's stack-create validation on one request body; raise on failure."""
    from heat.api.openstack.v1 import stacks as api_stacks
    from heat.common import context as heat_context
    from heat.common import environment_util as env_util
    from heat.common import template_format
    from heat.engine import api as engine_api
    from heat.engine import environment
    from heat.engine import service
    from heat.engine import stack as parser
    from heat.engine import template as templatem

    data = dict(data)
    stack_name = data.pop("stack_name", "disco-validate")
    data.pop("template_url", None)  # nothing is fetched offline
    inst = api_stacks.InstantiationData(data)

    # heat-api: template limit and environment/parameter handling.
    template = inst.template()
    # The same template text through Heat's template parser (JSON path).
    template = template_format.parse(json.dumps(template))
    params = inst.environment()
    files = inst.files()
    environment_files = inst.environment_files()
    args = inst.args()

    # heat-engine create_stack -> _parse_template_and_validate_stack.
    cnxt = heat_context.RequestContext(user_id="disco-validator",
                                       project_id="disco-validator",
                                       username="disco-validator",
                                       is_admin=False)
    common_params = engine_api.extract_args(args)
    tmpl = templatem.Template(template, files=files)
    env_util.merge_environments(environment_files, files, params,
                                tmpl.all_param_schemata(files))
    tmpl.env = environment.Environment(params)
    # EngineService._validate_template uses nothing of the service instance.
    service.EngineService._validate_template(None, cnxt, tmpl)
    stack = parser.Stack(cnxt, stack_name, tmpl, **common_params)
    stack.validate()
    graph = {}
    for resource, requires in stack.dependencies.graph().items():
        graph[resource.name] = sorted(r.name for r in requires)

    # Heat is satisfied; one lint of this validator's own on top.
    _lint_function_names("template", template)
    for name, content in sorted(files.items()):
        try:
            nested = template_format.parse(content)
        except Exception:
            continue  # not a template (a script, cloud-config, ...)
        _lint_function_names("files[%s]" % name, nested)
    return graph


class LintError(Exception):
    pass


def _lint_function_names(where, template):
    """Reject a one-key map whose key is a near miss of an intrinsic function name.

    Heat resolves only the function names its template version knows; any other
    one-key map is plain data. A misspelt function (get_parm, get_files, str_repalce)
    where a string is expected fails Heat's type check, but inside a map- or
    json-typed property (cloud_config, metadata, a json parameter) Heat accepts it and
    the literal map reaches the server. This is not a Heat check.
    """
    import difflib
    from heat.engine import template as templatem

    try:
        tmpl_cls = type(templatem.Template(template))
    except Exception:
        return
    known = set(getattr(tmpl_cls, "functions", {}) or {})
    known |= set(getattr(tmpl_cls, "condition_functions", {}) or {})
    known = sorted(k for k in known if isinstance(k, str))
    if not known:
        return

    def walk(node, path):
        if isinstance(node, dict):
            if len(node) == 1:
                (key, _value), = node.items()
                if isinstance(key, str) and key not in known:
                    close = difflib.get_close_matches(key, known, n=1, cutoff=0.8)
                    if close:
                        raise LintError(
                            "%s: %r is not an intrinsic function of this template "
                            "version (did you mean %r?); Heat would pass it on as "
                            "a literal map [validator lint]"
                            % ("".join(path), key, close[0]))
            for k, v in node.items():
                walk(v, path + [".%s" % k])
        elif isinstance(node, list):
            for i, v in enumerate(node):
                walk(v, path + ["[%d]" % i])

    for section in ("resources", "outputs", "conditions"):
        if isinstance(template.get(section), dict):
            walk(template[section], [where, "." + section])


def _message(ex):
    msg = str(ex)
    if not msg:
        msg = type(ex).__name__
    return " ".join(msg.split())


def main(argv):
    args = argv[1:]
    verbose = False
    show_graph = False
    while args and args[0].startswith("-") and args[0] != "-":
        opt = args.pop(0)
        if opt in ("-v", "--verbose"):
            verbose = True
        elif opt == "--graph":
            show_graph = True
        elif opt == "--":
            break
        elif opt in ("-h", "--help"):
            print(USAGE)
            return 0
        else:
            sys.stderr.write(USAGE + "\n")
            return 2
    if not args:
        sys.stderr.write(USAGE + "\n")
        return 2
    if args.count("-") > 1:
        sys.stderr.write("validate_template.py: '-' (stdin) given more than once\n")
        return 2

    _reexec_in_venv()
    _setup_heat(verbose)

    any_invalid = False
    for path in args:
        try:
            data = _load_request(path)
            graph = _validate_request(data)
        except UsageError as ex:
            sys.stderr.write("validate_template.py: %s\n" % ex)
            return 2
        except CloudAccessNeeded:
            # Outside the guarded plugin methods: not expected; say so, do not guess.
            any_invalid = True
            print("%s: INVALID: validator error: Heat tried to reach a cloud API "
                  "outside a resource plugin's checks" % path, flush=True)
        except Exception as ex:
            any_invalid = True
            print("%s: INVALID: %s" % (path, _message(ex)), flush=True)
        else:
            print("%s: valid" % path, flush=True)
            if show_graph:
                print("%s: graph: %s" % (path, json.dumps(graph, sort_keys=True)), flush=True)
    return 1 if any_invalid else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
