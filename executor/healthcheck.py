"""`sandcell-health`: exit 0 when the executor reports SERVING (used by Docker's HEALTHCHECK)."""
from __future__ import annotations

import argparse
import sys

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from sandcell.client.tls import ClientTls, secure_channel

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="sandcell-health", description=__doc__)
    parser.add_argument("--address", default="127.0.0.1:50051")
    parser.add_argument("--timeout-s", type=float, default=3.0)
    # Defaults from the client's environment (ClientTls.from_env), so that a container's
    # HEALTHCHECK follows the server onto TLS by setting variables, not by editing the command.
    env = ClientTls.from_env() or ClientTls()
    parser.add_argument("--tls-ca", default=env.ca_file, help="PEM CA of the server's certificate: check over "
                        "TLS (default $SANDCELL_TLS_CA)")
    parser.add_argument("--tls-cert", default=env.cert_file, help="PEM client certificate, for a server that "
                        "requires mTLS (default $SANDCELL_CLIENT_CERT)")
    parser.add_argument("--tls-key", default=env.key_file, help="PEM key of --tls-cert (default $SANDCELL_CLIENT_KEY)")
    parser.add_argument("--tls-server-name", default=env.server_name, help="name the server's certificate must "
                        "carry, when not the address's host (default $SANDCELL_TLS_SERVER_NAME)")
    args = parser.parse_args(argv)
    tls = (ClientTls(args.tls_ca, args.tls_cert, args.tls_key, args.tls_server_name)
           if args.tls_ca or args.tls_cert else None)
    try:
        with secure_channel(args.address, tls, ()) as channel:
            resp = health_pb2_grpc.HealthStub(channel).Check(health_pb2.HealthCheckRequest(), timeout=args.timeout_s)
    except grpc.RpcError as err:
        print(f"unhealthy: {err.code().name}: {err.details()}", file=sys.stderr)
        return 1
    ok = resp.status == health_pb2.HealthCheckResponse.SERVING
    print("serving" if ok else f"unhealthy: {health_pb2.HealthCheckResponse.ServingStatus.Name(resp.status)}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
