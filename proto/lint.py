"""Offline lint and breaking-change check of the proto contract (buf/AIP style).

    python proto/lint.py                    # lint + compare against the release snapshot
    python proto/lint.py --update-snapshot  # when cutting a release: record the contract

Lint: every service, rpc, message, field, oneof, enum and enum value has a leading comment;
PascalCase messages/enums/services/rpcs, lower_snake_case fields, UPPER_SNAKE_CASE values
prefixed with their enum's name and a zero value <PREFIX>_UNSPECIFIED (enums whose value
names travel on the wire as strings are exempt from the prefix, see PREFIX_EXEMPT); integer
fields that measure time, memory or size carry the unit in their name; rpc Foo takes
FooRequest and returns FooResponse (a streaming rpc may share its message types).

Breaking changes, against proto/snapshot/*.json (the last release): a message, enum, service
or rpc removed; a field number removed (unless reserved), renamed, or changed in type, label
or oneof; an enum value number removed or renamed; an rpc's types or streaming changed.
Additions are always fine. Compiled with grpc_tools' protoc, so it runs offline.
"""
from __future__ import annotations

import argparse
import importlib.resources
import json
import re
import sys
import tempfile
from pathlib import Path

from google.protobuf import descriptor_pb2
from grpc_tools import protoc

__all__ = ["compile_files", "lint", "summary", "breaking", "main"]

ROOT = Path(__file__).resolve().parent
SNAPSHOT_DIR = ROOT / "snapshot"
FILES = ["sandcell/executor/v1/executor.proto"]
# ErrorReason: its value names are the google.rpc.ErrorInfo reason strings (AIP-193), so
# they carry no prefix; only its zero value does.
PREFIX_EXEMPT = {"ErrorReason"}

_PASCAL = re.compile(r"^[A-Z][A-Za-z0-9]*$")
_SNAKE = re.compile(r"^[a-z][a-z0-9]*(_[a-z0-9]+)*$")
_UPPER = re.compile(r"^[A-Z][A-Z0-9]*(_[A-Z0-9]+)*$")
# A name mentioning one of these measures time, memory or size: it must end in a unit.
_MEASURES = re.compile(r"(time|timeout|ttl|lifetime|duration|latency|memory|cpu|bytes)")
_UNITS = ("_ms", "_us", "_ns", "_s", "_bytes", "_count")
_INTEGERS = {descriptor_pb2.FieldDescriptorProto.TYPE_INT32, descriptor_pb2.FieldDescriptorProto.TYPE_INT64,
             descriptor_pb2.FieldDescriptorProto.TYPE_UINT32, descriptor_pb2.FieldDescriptorProto.TYPE_UINT64,
             descriptor_pb2.FieldDescriptorProto.TYPE_SINT32, descriptor_pb2.FieldDescriptorProto.TYPE_SINT64,
             descriptor_pb2.FieldDescriptorProto.TYPE_FIXED32, descriptor_pb2.FieldDescriptorProto.TYPE_FIXED64,
             descriptor_pb2.FieldDescriptorProto.TYPE_DOUBLE, descriptor_pb2.FieldDescriptorProto.TYPE_FLOAT}


def compile_files(root: Path = ROOT, files: list[str] = FILES) -> list[descriptor_pb2.FileDescriptorProto]:
    """The files' descriptors with source info (comments), by grpc_tools' bundled protoc."""
    includes = importlib.resources.files("grpc_tools") / "_proto"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "set.pb"
        rc = protoc.main(["protoc", f"-I{root}", f"-I{includes}", f"--descriptor_set_out={out}",
                          "--include_source_info", *files])
        if rc != 0:
            raise SystemExit(f"protoc failed on {files} (rc {rc})")
        fds = descriptor_pb2.FileDescriptorSet.FromString(out.read_bytes())
    return list(fds.file)


def _upper_snake(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).upper()


def lint(file: descriptor_pb2.FileDescriptorProto) -> list[str]:
    """Problems in one file, each 'file:line: what'."""
    comments = {tuple(loc.path): loc for loc in file.source_code_info.location}
    problems: list[str] = []

    def where(path) -> str:
        loc = comments.get(tuple(path))
        return f"{file.name}:{loc.span[0] + 1 if loc else '?'}"

    def commented(path, what: str) -> None:
        loc = comments.get(tuple(path))
        if loc is None or not loc.leading_comments.strip():
            problems.append(f"{where(path)}: {what} has no leading comment")

    def name_ok(path, name: str, pattern: re.Pattern, style: str, what: str) -> None:
        if not pattern.match(name):
            problems.append(f"{where(path)}: {what} {name!r} is not {style}")

    def enum(path, e: descriptor_pb2.EnumDescriptorProto) -> None:
        commented(path, f"enum {e.name}")
        name_ok(path, e.name, _PASCAL, "PascalCase", "enum")
        prefix = _upper_snake(e.name) + "_"
        for j, v in enumerate(e.value):
            vpath = [*path, 2, j]
            commented(vpath, f"enum value {v.name}")
            name_ok(vpath, v.name, _UPPER, "UPPER_SNAKE_CASE", "enum value")
            if v.number == 0 and v.name != prefix + "UNSPECIFIED":
                problems.append(f"{where(vpath)}: the zero value of {e.name} must be {prefix}UNSPECIFIED")
            elif e.name not in PREFIX_EXEMPT and not v.name.startswith(prefix):
                problems.append(f"{where(vpath)}: enum value {v.name} must start with {prefix}")

    def message(path, m: descriptor_pb2.DescriptorProto) -> None:
        commented(path, f"message {m.name}")
        name_ok(path, m.name, _PASCAL, "PascalCase", "message")
        for j, f in enumerate(m.field):
            fpath = [*path, 2, j]
            commented(fpath, f"field {m.name}.{f.name}")
            name_ok(fpath, f.name, _SNAKE, "lower_snake_case", "field")
            if f.type in _INTEGERS and _MEASURES.search(f.name + "_") and not f.name.endswith(_UNITS):
                problems.append(f"{where(fpath)}: field {m.name}.{f.name} measures something: "
                                f"end its name with its unit ({', '.join(_UNITS)})")
        for k, o in enumerate(m.oneof_decl):
            commented([*path, 8, k], f"oneof {m.name}.{o.name}")
            name_ok([*path, 8, k], o.name, _SNAKE, "lower_snake_case", "oneof")
        for k, nested in enumerate(m.nested_type):
            message([*path, 3, k], nested)
        for k, e in enumerate(m.enum_type):
            enum([*path, 4, k], e)

    for i, m in enumerate(file.message_type):
        message([4, i], m)
    for i, e in enumerate(file.enum_type):
        enum([5, i], e)
    for i, s in enumerate(file.service):
        commented([6, i], f"service {s.name}")
        name_ok([6, i], s.name, _PASCAL, "PascalCase", "service")
        for j, rpc in enumerate(s.method):
            rpath = [6, i, 2, j]
            commented(rpath, f"rpc {s.name}.{rpc.name}")
            name_ok(rpath, rpc.name, _PASCAL, "PascalCase", "rpc")
            streaming = rpc.client_streaming or rpc.server_streaming
            want_in, want_out = f".{file.package}.{rpc.name}Request", f".{file.package}.{rpc.name}Response"
            if not streaming and (rpc.input_type, rpc.output_type) != (want_in, want_out):
                problems.append(f"{where(rpath)}: rpc {rpc.name} must take {rpc.name}Request "
                                f"and return {rpc.name}Response")
    if not re.search(r"\.v\d+$", file.package):
        problems.append(f"{file.name}:1: package {file.package!r} must end in a version (.v1)")
    return problems


def summary(file: descriptor_pb2.FileDescriptorProto) -> dict:
    """What a release promises: every number, name, type and signature (JSON-friendly)."""
    messages, enums = {}, {}

    def walk_enum(prefix: str, e) -> None:
        enums[f"{prefix}{e.name}"] = {str(v.number): v.name for v in e.value}

    def walk(prefix: str, m) -> None:
        name = f"{prefix}{m.name}"
        messages[name] = {
            "fields": {str(f.number): {"name": f.name, "type": f.type, "type_name": f.type_name,
                                       "label": f.label,
                                       "oneof": m.oneof_decl[f.oneof_index].name if f.HasField("oneof_index") else ""}
                       for f in m.field},
            "reserved_numbers": sorted(n for r in m.reserved_range for n in range(r.start, r.end)),
        }
        for nested in m.nested_type:
            walk(f"{name}.", nested)
        for e in m.enum_type:
            walk_enum(f"{name}.", e)

    for m in file.message_type:
        walk("", m)
    for e in file.enum_type:
        walk_enum("", e)
    services = {s.name: {rpc.name: [rpc.input_type, rpc.output_type, rpc.client_streaming, rpc.server_streaming]
                         for rpc in s.method} for s in file.service}
    return {"package": file.package, "messages": messages, "enums": enums, "services": services}


def breaking(old: dict, new: dict) -> list[str]:
    """Backward-incompatible differences from the released contract `old` to `new`."""
    out = []
    if old["package"] != new["package"]:
        out.append(f"package changed from {old['package']} to {new['package']}")
    for name, msg in old["messages"].items():
        now = new["messages"].get(name)
        if now is None:
            out.append(f"message {name} removed")
            continue
        for number, field in msg["fields"].items():
            cur = now["fields"].get(number)
            if cur is None:
                if int(number) not in now["reserved_numbers"]:
                    out.append(f"{name} field {number} ({field['name']}) removed without `reserved {number};`")
                continue
            for key in ("name", "type", "type_name", "label", "oneof"):
                if cur[key] != field[key]:
                    out.append(f"{name} field {number}: {key} changed from {field[key]!r} to {cur[key]!r}")
    for name, values in old["enums"].items():
        now = new["enums"].get(name)
        if now is None:
            out.append(f"enum {name} removed")
            continue
        for number, value in values.items():
            if now.get(number) != value:
                out.append(f"enum {name} value {number} ({value}) removed or renamed to {now.get(number)!r}")
    for service, rpcs in old["services"].items():
        now = new["services"].get(service)
        if now is None:
            out.append(f"service {service} removed")
            continue
        for rpc, signature in rpcs.items():
            if now.get(rpc) != signature:
                out.append(f"rpc {service}.{rpc} removed or changed: {signature} -> {now.get(rpc)}")
    return out


def _snapshot_path(file: descriptor_pb2.FileDescriptorProto) -> Path:
    return SNAPSHOT_DIR / (file.name.replace("/", ".").removesuffix(".proto") + ".json")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update-snapshot", action="store_true", help="record the contract as released")
    args = parser.parse_args(argv)
    problems = []
    for file in compile_files():
        problems += lint(file)
        path = _snapshot_path(file)
        if args.update_snapshot:
            path.parent.mkdir(exist_ok=True)
            path.write_text(json.dumps(summary(file), indent=1, sort_keys=True) + "\n")
            print(f"wrote {path.relative_to(ROOT.parent)}")
        elif not path.exists():
            problems.append(f"{file.name}: no release snapshot {path.name}; run proto/lint.py --update-snapshot")
        else:
            problems += [f"{file.name}: breaking change: {p}"
                         for p in breaking(json.loads(path.read_text()), summary(file))]
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"proto lint: {len(FILES)} file(s) clean, no breaking change against the snapshot")
    return 0


if __name__ == "__main__":
    sys.exit(main())
