"""Generated stubs for sandcell.executor.v1 (see proto/; regenerate with `make proto`)."""
from sandcell.executor.v1 import executor_pb2, executor_pb2_grpc

__all__ = ["executor_pb2", "executor_pb2_grpc"]
