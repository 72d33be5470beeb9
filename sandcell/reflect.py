"""A grpcurl-style command line over server reflection: call the executor from a shell with
JSON, knowing nothing but its address (the same reflection grpcurl uses).

    python -m sandcell.reflect 127.0.0.1:50051 list
    python -m sandcell.reflect 127.0.0.1:50051 describe sandcell.executor.v1.ExecuteStart
    python -m sandcell.reflect 127.0.0.1:50051 call sandcell.executor.v1.ExecutorService/CreateSession '{}'

Requests are proto3 JSON (field names as in the proto, or lowerCamelCase); responses are
printed with the proto's field names. Unary RPCs only (Execute's tool callbacks need a
client). A failed call prints the status, its ErrorInfo reason and metadata, and exits 1.
Needs grpcio-reflection (`pip install grpcio-reflection`). Token: --token or SANDCELL_TOKEN.
"""
from __future__ import annotations

import argparse
import os
import sys

import grpc
from google.protobuf import descriptor_pb2, descriptor_pool, json_format, message_factory, text_format
from grpc_status import rpc_status
from google.rpc import error_details_pb2

__all__ = ["main"]


def _describe(pool: descriptor_pool.DescriptorPool, symbol: str) -> str:
    for find, proto_type in ((pool.FindServiceByName, descriptor_pb2.ServiceDescriptorProto),
                             (pool.FindMessageTypeByName, descriptor_pb2.DescriptorProto),
                             (pool.FindEnumTypeByName, descriptor_pb2.EnumDescriptorProto)):
        try:
            desc = find(symbol)
        except KeyError:
            continue
        proto = proto_type()
        desc.CopyToProto(proto)
        return text_format.MessageToString(proto)
    raise SystemExit(f"no service, message or enum named {symbol!r} (try `list`)")


def _call(channel: grpc.Channel, pool, target: str, body: str, metadata) -> int:
    service_name, _, method_name = target.rpartition("/")
    try:
        method = pool.FindServiceByName(service_name).FindMethodByName(method_name)
    except KeyError:
        raise SystemExit(f"no method {target!r}: name it Service/Method as `list` shows") from None
    if method is None or method.client_streaming or method.server_streaming:
        raise SystemExit(f"{target} is not a unary RPC this tool can call")
    request_cls = message_factory.GetMessageClass(method.input_type)
    response_cls = message_factory.GetMessageClass(method.output_type)
    request = json_format.Parse(body or "{}", request_cls())
    stub = channel.unary_unary(f"/{service_name}/{method_name}", request_serializer=request_cls.SerializeToString,
                               response_deserializer=response_cls.FromString)
    try:
        response = stub(request, metadata=metadata, timeout=60)
    except grpc.RpcError as err:
        print(f"ERROR: {err.code().name}: {err.details()}", file=sys.stderr)
        status = rpc_status.from_call(err)
        for detail in status.details if status else ():
            if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
                info = error_details_pb2.ErrorInfo()
                detail.Unpack(info)
                print(f"  reason: {info.reason}  domain: {info.domain}  metadata: {dict(info.metadata)}",
                      file=sys.stderr)
        return 1
    print(json_format.MessageToJson(response, preserving_proto_field_name=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandcell.reflect", description=__doc__.splitlines()[0])
    parser.add_argument("address", help="host:port")
    parser.add_argument("verb", choices=["list", "describe", "call"])
    parser.add_argument("symbol", nargs="?", default="", help="what to describe, or Service/Method to call")
    parser.add_argument("body", nargs="?", default="{}", help="the request as JSON (call)")
    parser.add_argument("--token", default=os.environ.get("SANDCELL_TOKEN", ""), help="bearer token")
    parser.add_argument("--cacert", help="PEM CA for a TLS server (plain text without it)")
    args = parser.parse_args(argv)
    from grpc_reflection.v1alpha.proto_reflection_descriptor_database import ProtoReflectionDescriptorDatabase

    if args.cacert:
        with open(args.cacert, "rb") as f:
            channel = grpc.secure_channel(args.address, grpc.ssl_channel_credentials(f.read()))
    else:
        channel = grpc.insecure_channel(args.address)
    metadata = (("authorization", f"Bearer {args.token}"),) if args.token else ()
    with channel:
        database = ProtoReflectionDescriptorDatabase(channel)
        pool = descriptor_pool.DescriptorPool(database)
        if args.verb == "list":
            print("\n".join(sorted(database.get_services())))
            return 0
        if not args.symbol:
            parser.error(f"{args.verb} needs a symbol")
        if args.verb == "describe":
            print(_describe(pool, args.symbol), end="")
            return 0
        return _call(channel, pool, args.symbol, args.body, metadata)


if __name__ == "__main__":
    sys.exit(main())
