"""Message and data-value validation of SlicerBridge 1.0, driven by spec/model.json.

Standard library only. Values are heads in the `decoded` JSON form of spec/vectors/README.md
(bulk references as {"$bulk": ...}, binary as {"$bin": ...}, non-finite floats as {"$float": ...}).

- `problems(model, type_expression, value)` checks a value against a model type;
- `data_problems(value)` adds the rules of protocol.md section 11 that a type cannot express;
- `description_problems(model, description)` and `catalog_verdict(model, processors)` give the
  rules of section 10 a description breaks and what a client keeps of a catalog ([CAT-12]);
- `expected_outcome(model, head, context)` says how a receiver must answer a decoded head
  (protocol.md sections 4 to 6), or None when the message is valid.
"""

import math
import re

I64_MAX = 2**63 - 1
DTYPE_SIZES = {"int8": 1, "uint8": 1, "int16": 2, "uint16": 2, "int32": 4, "uint32": 4,
               "int64": 8, "uint64": 8, "float32": 4, "float64": 8}
INTEGER_DTYPES = {name for name in DTYPE_SIZES if "int" in name}


# ---------------------------------------------------------------------------------------------
# Type expressions of model.json
# ---------------------------------------------------------------------------------------------

def is_integer(value):
    return isinstance(value, int) and not isinstance(value, bool)


def as_number(value):
    """The float value of a number in decoded form, or None when `value` is not a number."""
    if is_integer(value) or isinstance(value, float):
        return float(value)
    if isinstance(value, dict) and set(value) == {"$float"}:
        return float(value["$float"])
    return None


def tagged(value, tag):
    return isinstance(value, dict) and set(value) == {tag}


def named(model, name):
    for section in ("structures", "aliases", "enumerations"):
        for item in model[section]:
            if item["name"] == name:
                return section, item
    raise KeyError(f"model has no type {name}")


def properties(model, structure):
    """Properties of a structure, those of the structures it extends first (overridable)."""
    merged = {}
    for parent in structure.get("extends", []):
        merged.update(properties(model, named(model, parent)[1]))
    merged.update({prop["name"]: prop for prop in structure["properties"]})
    return merged


def base_problems(expression, value, path):
    name = expression["name"]
    if name == "any":
        return []
    if name == "nil":
        return [] if value is None else [(path, "expected nil")]
    if name == "boolean":
        return [] if isinstance(value, bool) else [(path, "expected a boolean")]
    if name == "string":
        return [] if isinstance(value, str) else [(path, "expected a string")]
    if name == "binary":
        return [] if tagged(value, "$bin") else [(path, "expected binary")]
    if name == "bulkReference":
        return [] if tagged(value, "$bulk") else [(path, "expected a bulk reference")]
    if name == "integer":
        if not is_integer(value):
            return [(path, "expected an integer")]
        number = value
    elif name == "number":
        number = as_number(value)
        if number is None:
            return [(path, "expected a number")]
        if expression.get("finite") and not math.isfinite(number):
            return [(path, "expected a finite number")]
    else:
        raise KeyError(f"unknown base type {name}")
    if "minimum" in expression and not number >= expression["minimum"]:
        return [(path, f"below {expression['minimum']}")]
    if "maximum" in expression and not number <= expression["maximum"]:
        return [(path, f"above {expression['maximum']}")]
    return []


def structure_problems(model, structure, value, path):
    if not isinstance(value, dict) or tagged(value, "$bulk") or tagged(value, "$bin"):
        return [(path, f"expected a {structure['name']} map")]
    found = []
    for name, prop in properties(model, structure).items():
        if name not in value:
            if not prop.get("optional"):
                found.append((path + (name,), "required key missing"))
            continue
        found += problems(model, prop["type"], value[name], path + (name,))
        if "pattern" in prop and isinstance(value[name], str) \
                and not re.match(prop["pattern"], value[name]):
            found.append((path + (name,), "does not match its pattern"))
    return found


def alternative_matches(model, alternative, value, discriminant):
    """Whether an alternative of a discriminated `or` is the one `value` selects."""
    if alternative["kind"] != "reference":
        return False
    section, item = named(model, alternative["name"])
    prop = properties(model, item).get(discriminant) if section == "structures" else None
    return prop is not None and discriminant in value \
        and not problems(model, prop["type"], value[discriminant])


def problems(model, expression, value, path=()):
    """Every (path, message) by which `value` violates the type expression."""
    kind = expression["kind"]
    if kind == "base":
        return base_problems(expression, value, path)
    if kind == "literal":
        expected = expression["value"]
        same = value == expected and type(value) is type(expected)
        return [] if same else [(path, f"expected {expected!r}")]
    if kind == "array":
        if not isinstance(value, list):
            return [(path, "expected an array")]
        if not expression.get("minItems", 0) <= len(value) <= expression.get("maxItems",
                                                                               len(value)):
            return [(path, f"wrong number of elements ({len(value)})")]
        found = []
        for index, element in enumerate(value):
            found += problems(model, expression["element"], element, path + (index,))
        return found
    if kind == "map":
        if not isinstance(value, dict) or any(tagged(value, tag)
                                              for tag in ("$bulk", "$bin", "$float")):
            return [(path, "expected a map")]
        found = []
        for key, element in value.items():
            found += problems(model, expression["value"], element, path + (key,))
        return found
    if kind == "or":
        discriminant = expression.get("discriminant")
        if discriminant is not None:
            if not isinstance(value, dict):
                return [(path, "expected a map")]
            for alternative in expression["items"]:
                if alternative_matches(model, alternative, value, discriminant):
                    return problems(model, alternative, value, path)
            return [(path, f"unknown {discriminant} {value.get(discriminant)!r}")]
        if any(not problems(model, item, value, path) for item in expression["items"]):
            return []
        return [(path, "matches no alternative")]
    if kind == "reference":
        section, item = named(model, expression["name"])
        if section == "structures":
            return structure_problems(model, item, value, path)
        if section == "aliases":
            return problems(model, item["type"], value, path)
        return [] if value in item["values"] and isinstance(value, str) \
            else [(path, f"not a {item['name']}: {value!r}")]
    raise KeyError(f"unknown type kind {kind}")


def ref(name):
    return {"kind": "reference", "name": name}


# ---------------------------------------------------------------------------------------------
# Rules of protocol.md section 11 beyond the types
# ---------------------------------------------------------------------------------------------

def bulk_size(array):
    return len(array["data"]["$bulk"]["hex"]) // 2


def element_count(array):
    """Elements of a typed array, or None when its length is not a whole number of them."""
    size = array.get("components", 1) * DTYPE_SIZES[array["dtype"]]
    length = bulk_size(array)
    return length // size if length % size == 0 else None


def int64_values(array):
    raw = bytes.fromhex(array["data"]["$bulk"]["hex"])
    order = "little" if array.get("byte_order", "little") == "little" else "big"
    return [int.from_bytes(raw[i:i + 8], order, signed=True) for i in range(0, len(raw), 8)]


def determinant3(m):
    return (m[0] * (m[5] * m[10] - m[6] * m[9]) - m[1] * (m[4] * m[10] - m[6] * m[8])
            + m[2] * (m[4] * m[9] - m[5] * m[8]))


def invertible3(m):
    """[IMG-2]: |det| above 1e-12 times the product of the column lengths of the upper 3x3."""
    lengths = math.prod(math.hypot(m[column], m[4 + column], m[8 + column]) for column in range(3))
    determinant = determinant3(m)
    return math.isfinite(determinant) and abs(determinant) > 1e-12 * lengths


def last_row_problems(matrix, requirement):
    return [] if matrix[12:] == [0, 0, 0, 1] else [(requirement, "last row is not [0, 0, 0, 1]")]


def image_problems(image):
    found = last_row_problems(image["ijk_to_space"], "IMG-2")
    if not invertible3(image["ijk_to_space"]):
        found.append(("IMG-2", "upper 3x3 is singular"))
    expected = math.prod(image["dims"]) * image.get("components", 1) * DTYPE_SIZES[image["dtype"]]
    if expected != bulk_size(image):
        found.append(("IMG-3", f"data holds {bulk_size(image)} bytes, dims need {expected}"))
    if image["kind"] in ("scalar", "label") and image.get("components", 1) != 1:
        found.append(("IMG-4", "scalar and label images have one component"))
    if image["kind"] == "label" and image["dtype"] not in INTEGER_DTYPES:
        found.append(("IMG-4", "label images have an integer dtype"))
    values = [segment["value"] for segment in image.get("segments", [])]
    if len(values) != len(set(values)):
        found.append(("IMG-6", "segment values are not unique"))
    return found


SERIES_ORDER = {"time": "increasing", "echo_time": "increasing", "index": "increasing",
                "b_value": "any"}


def image_series_problems(series):
    """[SER-1] to [SER-5]: layout, geometry per volume, axis values, gradients."""
    volumes = series["volumes"]
    found = []
    for volume in volumes:
        found += last_row_problems(volume["ijk_to_space"], "SER-2")
        if not invertible3(volume["ijk_to_space"]):
            found.append(("SER-2", "a volume's upper 3x3 is singular"))
    expected = (math.prod(series["dims"]) * len(volumes) * series.get("components", 1)
                * DTYPE_SIZES[series["dtype"]])
    if expected != bulk_size(series):
        found.append(("SER-1", f"data holds {bulk_size(series)} bytes, the volumes need {expected}"))
    axis = series["axis"]
    values = [as_number(volume["value"]) for volume in volumes]
    if not all(math.isfinite(value) for value in values):
        found.append(("SER-3", "axis values must be finite"))
    elif SERIES_ORDER[axis] == "increasing" and any(b <= a for a, b in zip(values, values[1:])):
        found.append(("SER-3", f"{axis} values must be strictly increasing"))
    elif axis == "echo_time" and values[0] <= 0:
        found.append(("SER-3", "echo times must be > 0"))
    elif axis == "b_value" and any(value < 0 for value in values):
        found.append(("SER-3", "b-values must be >= 0"))
    for volume in volumes:
        gradient = volume.get("gradient")
        if (gradient is None) != (axis != "b_value"):
            found.append(("SER-4", "gradient is required on b_value series and only there"))
        elif gradient is not None:
            norm = math.sqrt(sum(as_number(g) ** 2 for g in gradient))
            zero_allowed = norm == 0 and as_number(volume["value"]) == 0
            if not zero_allowed and not abs(norm - 1) <= 1e-6:
                found.append(("SER-4", "gradient must have unit length (or be 0 at b = 0)"))
    if series["kind"] in ("scalar", "label") and series.get("components", 1) != 1:
        found.append(("SER-5", "scalar and label series have one component"))
    if series["kind"] == "label" and series["dtype"] not in INTEGER_DTYPES:
        found.append(("SER-5", "label series have an integer dtype"))
    labels = [segment["value"] for segment in series.get("segments", [])]
    if len(labels) != len(set(labels)):
        found.append(("SER-5", "segment values are not unique"))
    return found


def cell_array_problems(cells, point_count):
    offsets, connectivity = int64_values(cells["offsets"]), int64_values(cells["connectivity"])
    found = []
    if not offsets or offsets[0] != 0 or offsets[-1] != len(connectivity) \
            or any(b < a for a, b in zip(offsets, offsets[1:])):
        found.append(("MESH-1", "offsets must start at 0, not decrease, end at the length"))
    if any(not 0 <= index < point_count for index in connectivity):
        found.append(("MESH-1", "connectivity holds an invalid point index"))
    return found, max(len(offsets) - 1, 0)


def mesh_problems(mesh):
    points = element_count(mesh["points"])
    if points is None:
        return [("ARRAY-1", "points length is not a whole number of points")]
    found, cells = [], 0
    for key in ("verts", "lines", "polys", "strips"):
        if key in mesh:
            cell_found, count = cell_array_problems(mesh[key], points)
            found += cell_found
            cells += count
    for key, expected in (("point_data", points), ("cell_data", cells)):
        arrays = mesh.get(key, [])
        if any(element_count(array) != expected for array in arrays):
            found.append(("MESH-2", f"{key} tuple count differs from {expected}"))
        if len({array["name"] for array in arrays}) != len(arrays):
            found.append(("MESH-2", f"{key} names are not unique"))
    return found


def points_problems(points):
    count = element_count(points["points"])
    if count is None:
        return [("ARRAY-1", "points length is not a whole number of points")]
    if "labels" in points and len(points["labels"]) != count:
        return [("PTS-1", "one label per point")]
    return []


def table_problems(table):
    rows, names = set(), [column["name"] for column in table["columns"]]
    for column in table["columns"]:
        count = len(column["values"]) if "values" in column else element_count(column)
        rows.add(count)
    found = []
    if None in rows or len(rows) > 1:
        found.append(("TBL-1", "columns differ in row count"))
    if len(names) != len(set(names)):
        found.append(("TBL-1", "column names are not unique"))
    return found


def data_problems(value):
    """(requirement, message) for every rule of section 11 that a well-typed value breaks."""
    checks = {"image": image_problems, "mesh": mesh_problems, "points": points_problems,
              "table": table_problems,
              "image_series": image_series_problems,
              "transform": lambda transform: last_row_problems(transform["matrix"], "XFM-1")}
    return checks[value["type"]](value)


# ---------------------------------------------------------------------------------------------
# Catalog rules: protocol.md section 10 ([CAT-3], [CAT-5], [CAT-6], [CAT-9], [CAT-11], [CAT-12])
# ---------------------------------------------------------------------------------------------

INT64 = (-2**63, 2**63 - 1)


def _slot_value_problem(slot, value):
    """Why a parameter value does not satisfy a slot's type and constraints ([CAT-5]), or None.

    An integer slot accepts an integral float where a 1.0 sender wrote one ([CAT-10])."""
    kind = slot["type"]
    if kind.endswith("_vector"):
        if not isinstance(value, list):
            return "expected an array"
        if "length" in slot and len(value) != slot["length"]:
            return f"expected {slot['length']} elements"
        elements, kind = value, kind[:-len("_vector")]
    else:
        elements = [value]
    for element in elements:
        if kind == "bool" and not isinstance(element, bool):
            return "expected a bool"
        if kind in ("string", "enum") and not isinstance(element, str):
            return "expected a string"
        if kind == "enum" and element not in slot.get("choices", []):
            return "not one of the choices"
        if kind == "int":
            number = as_number(element)
            if number is None or not (is_integer(element) or number.is_integer()) \
                    or not INT64[0] <= number <= INT64[1]:
                return "expected an integer in the int64 range"
        if kind in ("int", "float"):
            number = as_number(element)
            if number is None:
                return "expected a number"
            if "minimum" in slot and not number >= as_number(slot["minimum"]):
                return "below minimum"
            if "maximum" in slot and not number <= as_number(slot["maximum"]):
                return "above maximum"
    return None


def slot_problems(model, slot, role, types):
    """(requirement, message) for the rules of section 10 that a well-typed slot breaks."""
    where = f"{role}.{slot['name']}"
    slot_props = properties(model, named(model, "Slot")[1])
    rules = named(model, "Description")[1]["ruleRequirements"]
    if slot["type"] not in types["all"]:
        return [(rules["slotType"], f"{where}: unknown slot type {slot['type']!r}")]
    found = []
    if slot["type"] not in types[role]:
        found.append((rules["slotRole"], f"{where}: type {slot['type']!r} not allowed in {role}"))
    for key, prop in slot_props.items():
        if key not in slot:
            if slot["type"] in prop.get("requiredFor", []):
                found.append((prop["requirement"], f"{where}: {slot['type']} slots need {key}"))
            continue
        if "appliesTo" in prop and slot["type"] not in prop["appliesTo"]:
            found.append((prop["requirement"], f"{where}: {key} does not apply to "
                                               f"{slot['type']} slots"))
        elif "roles" in prop and role not in prop["roles"]:
            found.append((prop["requirement"], f"{where}: only {prop['roles']} have a {key}"))
        elif slot["type"] in prop.get("requiredFor", []) \
                and len(slot[key]) < prop.get("minItemsWhenRequired", 0):
            found.append((prop["requirement"], f"{where}: {key} is empty"))
    if "minimum" in slot and "maximum" in slot \
            and not as_number(slot["minimum"]) <= as_number(slot["maximum"]):
        found.append(("CAT-11", f"{where}: minimum above maximum"))
    if not found and "default" in slot:
        problem = _slot_value_problem(slot, slot["default"])
        if problem:
            found.append((slot_props["default"]["requirement"], f"{where}: default: {problem}"))
    return found


def slot_types(model):
    description = named(model, "Description")[1]
    values = {name: set(named(model, name)[1]["values"])
              for name in ("DataTypeName", "ParameterType")}
    types = {role: set().union(*(values[name] for name in names))
             for role, names in description["slotTypes"].items()}
    types["all"] = set().union(*values.values())
    return types


def description_problems(model, description):
    """(requirement, message) for every rule of section 10 that one description breaks: the
    model's types first ([CAT-6] for a missing key, [CAT-11] for a mistyped one), then the rules
    the types cannot express. Empty when the description is valid."""
    rules = named(model, "Description")[1]["ruleRequirements"]
    typed = problems(model, ref("Description"), description)
    if typed:
        return [(rules["missing"] if message == "required key missing" else rules["mistyped"],
                 f"{first([(path, message)])}") for path, message in typed]
    types, found, seen = slot_types(model), [], set()
    for role in ("inputs", "outputs", "parameters"):
        for slot in description[role]:
            found += slot_problems(model, slot, role, types)
            if slot["name"] in seen:
                found.append((rules["uniqueSlotNames"], f"slot name {slot['name']!r} used twice"))
            seen.add(slot["name"])
    return found


def catalog_verdict(model, processors):
    """What a client keeps of a catalog's `processors` ([CAT-12]): (names kept, in order; dropped
    as [{index, name (None without a string name), requirement}]), with the problems found."""
    rules = named(model, "Description")[1]["ruleRequirements"]
    kept, dropped, reasons = [], [], []
    for index, description in enumerate(processors):
        name = description.get("name") if isinstance(description, dict) else None
        name = name if isinstance(name, str) else None
        found = description_problems(model, description)
        if not found and name in kept:
            found = [(rules["uniqueProcessorNames"], f"processor name {name!r} used twice")]
        if found:
            dropped.append({"index": index, "name": name, "requirement": found[0][0]})
            reasons.append(found)
        else:
            kept.append(name)
    return kept, dropped, reasons


# ---------------------------------------------------------------------------------------------
# How a receiver answers a head
# ---------------------------------------------------------------------------------------------

def method_entry(model, section, method):
    return next((entry for entry in model[section] if entry["method"] == method), None)


def first(found):
    path, message = found[0]
    return f"{'.'.join(str(step) for step in path) or 'head'}: {message}"


def version_tuple(version):
    return tuple(version)


def negotiate(hello, supported=((1, 0), (1, 1))):
    """Whether a version exists in both the client's range and this receiver's (1.0 to 1.1)."""
    low = max(version_tuple(hello["min_version"]), supported[0])
    high = min(version_tuple(hello["max_version"]), supported[1])
    return low <= high


def invoke_outcome(model, params, request_id):
    structure = named(model, "InvokeParams")[1]
    for name, prop in properties(model, structure).items():
        if name not in params:
            if not prop.get("optional"):
                return "invalid_message", request_id, f"params.{name} missing"
            continue
        if prop.get("argumentErrors"):
            if not isinstance(params[name], dict) or tagged(params[name], "$bulk"):
                return "invalid_message", request_id, f"params.{name} is not a map"
            found = problems(model, prop["type"], params[name], ("params", name))
            if found:
                return "invalid_argument", request_id, first(found)
            if name == "inputs":
                for value in params[name].values():
                    rules = data_problems(value)
                    if rules:
                        return "invalid_argument", request_id, f"[{rules[0][0]}] {rules[0][1]}"
        else:
            found = problems(model, prop["type"], params[name], ("params", name))
            if found:
                return "invalid_message", request_id, first(found)
    return None


def server_outcome(model, head, state):
    kind = head.get("kind")
    if state == "awaiting_hello":
        if not isinstance(kind, str):
            return "invalid_message", None, "kind missing or not a string"
        if kind != "hello":
            return "handshake_required", None, "a message before the hello"
        found = problems(model, ref("ClientHello"), head)
        if found:
            return "invalid_message", None, first(found)
        if not negotiate(head):
            return "unsupported_version", None, "no common version"
        return None
    if not isinstance(kind, str):
        return "invalid_message", None, "kind missing or not a string"
    if kind == "hello":
        return "invalid_message", None, "hello after the handshake"
    if kind == "response":
        return "invalid_message", None, "the server received a response"
    if kind == "notification":
        if not isinstance(head.get("method"), str):
            return "invalid_message", None, "notification without a string method"
        return None
    if kind != "request":
        return "unknown_kind", None, f"kind {kind!r}"
    found = problems(model, ref("RequestId"), head.get("id"))
    if "id" not in head or found:
        return "invalid_message", None, "request id missing or invalid"
    request_id = head["id"]
    found = problems(model, ref("Request"), head)
    if found:
        return "invalid_message", request_id, first(found)
    method = method_entry(model, "methods", head["method"])
    if method is None:
        return "method_not_found", request_id, f"method {head['method']!r}"
    params = head.get("params", {})
    if method["method"] == "invoke":
        return invoke_outcome(model, params, request_id)
    if method["params"] is not None:
        found = problems(model, ref(method["params"]), params, ("params",))
        if found:
            return "invalid_message", request_id, first(found)
    return None


def result_outcome(model, method, result):
    """Problems of a success result of `method` ([INV-4], [DATA-4]); the client fails the call."""
    entry = method_entry(model, "methods", method)
    if method == "catalog":
        # A bad description drops that processor only ([CAT-12], catalog_verdict).
        processors = result.get("processors") if isinstance(result, dict) else None
        return None if isinstance(processors, list) \
            else ("invalid_message", None, "result.processors: expected an array")
    found = problems(model, ref(entry["result"]), result, ("result",))
    if found:
        return "invalid_message", None, first(found)
    if method == "describe":
        rules = description_problems(model, result)
        if rules:
            return "invalid_message", None, f"[{rules[0][0]}] {rules[0][1]}"
    if method == "invoke":
        for value in result["outputs"].values():
            if not isinstance(value, dict):
                continue  # a scalar output's value [CAT-7], checked against its slot
            rules = data_problems(value)
            if rules:
                return "invalid_message", None, f"[{rules[0][0]}] {rules[0][1]}"
    return None


def client_outcome(model, head, result_of=None):
    kind = head.get("kind")
    if kind == "hello":
        found = problems(model, ref("ServerHello"), head)
        return ("invalid_message", None, first(found)) if found else None
    if kind == "response":
        found = problems(model, ref("Response"), head)
        if found:
            return "invalid_message", None, first(found)
        if ("result" in head) == ("error" in head):
            return "invalid_message", None, "exactly one of result and error [MSG-7]"
        if result_of is not None and "result" in head:
            return result_outcome(model, result_of, head["result"])
        return None
    if kind == "notification":
        entry = method_entry(model, "notifications", head.get("method"))
        if entry is not None:
            found = problems(model, ref(entry["params"]), head.get("params", {}), ("params",))
            if found:
                return "invalid_message", None, first(found)
        return None
    return "unknown_kind", None, f"kind {kind!r}"


def default_receiver(head, context):
    """The receiver of a valid vector: who gets this message in a normal exchange."""
    if "receiver" in context:
        return context["receiver"]
    if head.get("kind") == "hello":
        return "server" if context.get("sender") == "client" else "client"
    if head.get("kind") == "notification":
        return "client" if head.get("method") == "progress" else "server"
    return "server" if head.get("kind") == "request" else "client"


def expected_outcome(model, head, context):
    """None when the receiver accepts the message, else (error, response id, reason).

    `context` may hold `receiver` ("server" or "client"), `state` ("awaiting_hello" or
    "established"), `sender`, and `result_of` (the method a response answers, to check its
    result); missing entries are inferred from the message.
    """
    receiver = default_receiver(head, context)
    state = context.get("state", "awaiting_hello" if head.get("kind") == "hello"
                        else "established")
    if receiver == "server":
        return server_outcome(model, head, state)
    return client_outcome(model, head, context.get("result_of"))
