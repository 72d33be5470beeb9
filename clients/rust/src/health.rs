//! grpc.health.v1.Health/Check by hand: two one-field messages do not justify another crate.
use std::time::Duration;

use tonic::codegen::http::uri::PathAndQuery;
use tonic::transport::Channel;

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HealthCheckRequest {
    #[prost(string, tag = "1")]
    pub service: String,
}

#[derive(Clone, PartialEq, prost::Message)]
pub(crate) struct HealthCheckResponse {
    #[prost(int32, tag = "1")]
    pub status: i32,
}

/// HealthCheckResponse.ServingStatus.SERVING.
const SERVING: i32 = 1;

pub(crate) async fn check(channel: Channel, service: &str) -> bool {
    let mut grpc = tonic::client::Grpc::new(channel);
    if grpc.ready().await.is_err() {
        return false;
    }
    let mut req = tonic::Request::new(HealthCheckRequest { service: service.to_owned() });
    req.set_timeout(Duration::from_secs(5));
    let path = PathAndQuery::from_static("/grpc.health.v1.Health/Check");
    let codec = tonic_prost::ProstCodec::<HealthCheckRequest, HealthCheckResponse>::default();
    matches!(grpc.unary(req, path, codec).await, Ok(resp) if resp.get_ref().status == SERVING)
}
