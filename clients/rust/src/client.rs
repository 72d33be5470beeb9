//! The connection, session calls, and the two ways to execute (streaming and unary).
use std::time::Duration;

use tokio::sync::mpsc;
use tokio_stream::wrappers::ReceiverStream;
use tonic::metadata::{AsciiMetadataValue, MetadataValue};
use tonic::transport::{Channel, Endpoint};
use tonic::{Request, Streaming};

use crate::error::Error;
use crate::pb;
use crate::pb::executor_service_client::ExecutorServiceClient;
use crate::tools::Tools;
use crate::types::{ExecuteOptions, ExecuteResult, Limits, OutputStream, SessionInfo, ToolSpec};

/// Large enough for big code cells and outputs (as the Python client); the server has its own caps.
const MAX_MESSAGE_BYTES: usize = 64 << 20;

/// Client-side TLS settings: the CA to trust, the name to verify, a client identity for mTLS.
#[cfg(feature = "tls")]
#[derive(Clone, Debug, Default)]
pub struct TlsOptions {
    /// PEM of the CA that signed the server's certificate; `None`: the system's roots.
    pub ca_pem: Option<Vec<u8>>,
    /// The name the server's certificate must carry; `None`: the address's host.
    pub domain: Option<String>,
    /// (certificate PEM, private key PEM) presented to a server that asks for client certificates.
    pub identity: Option<(Vec<u8>, Vec<u8>)>,
}

/// How to connect: address, bearer token, TLS, default deadline for unary calls.
#[derive(Clone, Debug)]
pub struct ClientBuilder {
    address: String,
    token: Option<String>,
    timeout: Option<Duration>,
    #[cfg(feature = "tls")]
    tls: Option<TlsOptions>,
}

impl ClientBuilder {
    /// Sends `authorization: Bearer <token>` on every call.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Deadline of each unary call (default 60 s); `None` waits as long as the server takes.
    pub fn timeout(mut self, timeout: Option<Duration>) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connects over TLS.
    #[cfg(feature = "tls")]
    pub fn tls(mut self, tls: TlsOptions) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Opens the connection (fails fast when nothing listens at the address).
    pub async fn connect(self) -> Result<Client, Error> {
        let token = match &self.token {
            Some(t) => Some(
                MetadataValue::try_from(format!("Bearer {t}"))
                    .map_err(|_| Error::Connect("the token must be printable ASCII".into()))?,
            ),
            None => None,
        };
        let channel = self.endpoint()?.connect().await?;
        let stub = ExecutorServiceClient::new(channel.clone())
            .max_decoding_message_size(MAX_MESSAGE_BYTES)
            .max_encoding_message_size(MAX_MESSAGE_BYTES);
        Ok(Client { stub, channel, token, timeout: self.timeout })
    }

    fn endpoint(&self) -> Result<Endpoint, Error> {
        #[cfg(feature = "tls")]
        let secure = self.tls.is_some();
        #[cfg(not(feature = "tls"))]
        let secure = false;
        let uri = if self.address.contains("://") {
            self.address.clone()
        } else {
            format!("{}://{}", if secure { "https" } else { "http" }, self.address)
        };
        let endpoint = Endpoint::from_shared(uri)
            .map_err(|e| Error::Connect(format!("bad address {:?}: {e}", self.address)))?
            .connect_timeout(Duration::from_secs(10));
        #[cfg(feature = "tls")]
        if let Some(tls) = &self.tls {
            use tonic::transport::{Certificate, ClientTlsConfig, Identity};
            let mut cfg = ClientTlsConfig::new();
            cfg = match &tls.ca_pem {
                Some(pem) => cfg.ca_certificate(Certificate::from_pem(pem)),
                None => cfg.with_native_roots(),
            };
            if let Some(domain) = &tls.domain {
                cfg = cfg.domain_name(domain.clone());
            }
            if let Some((cert, key)) = &tls.identity {
                cfg = cfg.identity(Identity::from_pem(cert, key));
            }
            return Ok(endpoint.tls_config(cfg)?);
        }
        Ok(endpoint)
    }
}

/// Settings of a new session; the defaults are the server's.
#[derive(Clone, Debug)]
pub struct SessionOptions {
    pub limits: Limits,
    /// Imports beyond the server's default list ("pkg" or "pkg.*"), within its ceiling.
    pub extra_imports: Vec<String>,
    /// Tools the code may call; answer them with [`Tools`] when executing.
    pub tools: Vec<ToolSpec>,
    /// Whether open() works inside the session (confined to its work directory).
    pub file_access: bool,
}

impl Default for SessionOptions {
    fn default() -> Self {
        SessionOptions { limits: Limits::default(), extra_imports: vec![], tools: vec![], file_access: true }
    }
}

/// A connection to an executor. Cheap to clone; clones share the connection.
#[derive(Clone, Debug)]
pub struct Client {
    stub: ExecutorServiceClient<Channel>,
    channel: Channel,
    token: Option<AsciiMetadataValue>,
    timeout: Option<Duration>,
}

impl Client {
    /// Starts configuring a connection to `address` ("host:port", or a URI with http/https).
    pub fn builder(address: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            address: address.into(),
            token: None,
            timeout: Some(Duration::from_secs(60)),
            #[cfg(feature = "tls")]
            tls: None,
        }
    }

    /// Connects in plain text without a token.
    pub async fn connect(address: impl Into<String>) -> Result<Client, Error> {
        Self::builder(address).connect().await
    }

    fn request<T>(&self, msg: T, timeout: Option<Duration>) -> Request<T> {
        let mut req = Request::new(msg);
        if let Some(token) = &self.token {
            req.metadata_mut().insert("authorization", token.clone());
        }
        if let Some(t) = timeout {
            req.set_timeout(t);
        }
        req
    }

    /// Whether the server reports SERVING on the standard gRPC health service ("" = the
    /// whole server). Needs no token, like the probes; any failure is `false`.
    pub async fn health(&self, service: &str) -> bool {
        crate::health::check(self.channel.clone(), service).await
    }

    /// Creates a session.
    pub async fn create_session(&self, opts: SessionOptions) -> Result<Session, Error> {
        let msg = pb::CreateSessionRequest {
            limits: Some(opts.limits.to_proto()),
            extra_imports: opts.extra_imports,
            tools: opts.tools.iter().map(ToolSpec::to_proto).collect(),
            disable_file_access: !opts.file_access,
        };
        let resp = self.stub.clone().create_session(self.request(msg, self.timeout)).await?;
        Ok(Session { client: self.clone(), info: session_of(resp.into_inner().session)? })
    }

    /// One session's current state.
    pub async fn get_session(&self, session_id: &str) -> Result<SessionInfo, Error> {
        let msg = pb::GetSessionRequest { session_id: session_id.to_owned() };
        let resp = self.stub.clone().get_session(self.request(msg, self.timeout)).await?;
        session_of(resp.into_inner().session)
    }

    /// The caller's sessions, oldest first (all pages).
    pub async fn list_sessions(&self) -> Result<Vec<SessionInfo>, Error> {
        let (mut out, mut page_token) = (Vec::new(), String::new());
        loop {
            let msg = pb::ListSessionsRequest { page_size: 0, page_token };
            let resp = self.stub.clone().list_sessions(self.request(msg, self.timeout)).await?.into_inner();
            out.extend(resp.sessions.iter().map(SessionInfo::from_proto));
            if resp.next_page_token.is_empty() {
                return Ok(out);
            }
            page_token = resp.next_page_token;
        }
    }

    /// Closes a session; returns it as it was when closed.
    pub async fn close_session(&self, session_id: &str) -> Result<SessionInfo, Error> {
        let msg = pb::CloseSessionRequest { session_id: session_id.to_owned() };
        let resp = self.stub.clone().close_session(self.request(msg, self.timeout)).await?;
        session_of(resp.into_inner().session)
    }

    /// Runs code over the streaming RPC, answering tool calls with `tools`; collects the output.
    pub async fn execute(
        &self,
        session_id: &str,
        code: &str,
        tools: &Tools,
        opts: &ExecuteOptions,
    ) -> Result<ExecuteResult, Error> {
        let mut run = self.execute_stream(session_id, code, tools.clone(), opts).await?;
        loop {
            if let Event::Finished(result) = run.next().await? {
                return Ok(result);
            }
        }
    }

    /// Starts code over the streaming RPC; read output as it is printed with [`Execution::next`].
    pub async fn execute_stream(
        &self,
        session_id: &str,
        code: &str,
        tools: Tools,
        opts: &ExecuteOptions,
    ) -> Result<Execution, Error> {
        let (outbox, rx) = mpsc::channel(8);
        let start = pb::ExecuteRequest { kind: Some(pb::execute_request::Kind::Start(opts.start(session_id, code))) };
        outbox.send(start).await.expect("the receiver is alive");
        let req = self.request(ReceiverStream::new(rx), opts.deadline);
        let responses = self.stub.clone().execute(req).await?.into_inner();
        Ok(Execution { responses, outbox: Some(outbox), tools, stdout: String::new(), stderr: String::new() })
    }

    /// Runs code over the unary RPC: no tool callbacks, output collected by the server.
    pub async fn execute_unary(&self, session_id: &str, code: &str, opts: &ExecuteOptions) -> Result<ExecuteResult, Error> {
        let msg = pb::ExecuteUnaryRequest { start: Some(opts.start(session_id, code)) };
        let resp = self.stub.clone().execute_unary(self.request(msg, opts.deadline)).await?.into_inner();
        let result = resp.result.ok_or_else(|| Error::Protocol("ExecuteUnary answered without a result".into()))?;
        Ok(ExecuteResult::from_proto(&result, resp.stdout, resp.stderr))
    }
}

fn session_of(session: Option<pb::Session>) -> Result<SessionInfo, Error> {
    session
        .as_ref()
        .map(SessionInfo::from_proto)
        .ok_or_else(|| Error::Protocol("the response carried no session".into()))
}

/// What an execute produced next.
#[derive(Clone, Debug, PartialEq)]
#[allow(clippy::large_enum_variant)] // one Finished per execute: a box would only add an allocation
pub enum Event {
    /// Text the code printed, in order, as it was printed.
    Output(OutputStream, String),
    /// The end: the result, with all printed output collected.
    Finished(ExecuteResult),
}

/// A running execute. Tool calls are answered inside [`next`](Self::next); dropping it cancels the call.
pub struct Execution {
    responses: Streaming<pb::ExecuteResponse>,
    outbox: Option<mpsc::Sender<pb::ExecuteRequest>>,
    tools: Tools,
    stdout: String,
    stderr: String,
}

impl Execution {
    /// The next output chunk, or the result. Calling it again after the result is a Protocol error.
    pub async fn next(&mut self) -> Result<Event, Error> {
        use pb::execute_response::Kind;
        loop {
            let Some(outbox) = &self.outbox else {
                return Err(Error::Protocol("the execute already finished".into()));
            };
            let Some(msg) = self.responses.message().await? else {
                return Err(Error::Protocol("the Execute stream ended without a result".into()));
            };
            match msg.kind {
                Some(Kind::Output(chunk)) => {
                    let stream = if chunk.stream == pb::OutputStream::Stderr as i32 {
                        self.stderr.push_str(&chunk.text);
                        OutputStream::Stderr
                    } else {
                        self.stdout.push_str(&chunk.text);
                        OutputStream::Stdout
                    };
                    return Ok(Event::Output(stream, chunk.text));
                }
                Some(Kind::ToolCall(call)) => {
                    let answer = self.tools.answer(&call).await;
                    if outbox.send(answer).await.is_err() {
                        return Err(Error::Protocol("the Execute stream closed while a tool ran".into()));
                    }
                }
                Some(Kind::Result(result)) => {
                    self.outbox = None; // half-closes our side: the server has nothing more to ask
                    let (out, err) = (std::mem::take(&mut self.stdout), std::mem::take(&mut self.stderr));
                    return Ok(Event::Finished(ExecuteResult::from_proto(&result, out, err)));
                }
                None => {} // a message kind newer than this client: skip it
            }
        }
    }
}

/// A handle on one session. Close it with [`close`](Self::close) (Rust has no async drop).
#[derive(Clone, Debug)]
pub struct Session {
    client: Client,
    info: SessionInfo,
}

impl Session {
    pub fn id(&self) -> &str {
        &self.info.session_id
    }

    /// The session as of creation or the last [`refresh`](Self::refresh).
    pub fn info(&self) -> &SessionInfo {
        &self.info
    }

    pub fn client(&self) -> &Client {
        &self.client
    }

    /// Runs code without tools and with the session's limits.
    pub async fn execute(&self, code: &str) -> Result<ExecuteResult, Error> {
        self.client.execute(self.id(), code, &Tools::default(), &ExecuteOptions::default()).await
    }

    /// Runs code answering tool calls with `tools`, with per-execute options.
    pub async fn execute_with(&self, code: &str, tools: &Tools, opts: &ExecuteOptions) -> Result<ExecuteResult, Error> {
        self.client.execute(self.id(), code, tools, opts).await
    }

    /// Starts code; read its output as it is printed.
    pub async fn execute_stream(&self, code: &str, tools: Tools, opts: &ExecuteOptions) -> Result<Execution, Error> {
        self.client.execute_stream(self.id(), code, tools, opts).await
    }

    /// Runs code over the unary RPC.
    pub async fn execute_unary(&self, code: &str, opts: &ExecuteOptions) -> Result<ExecuteResult, Error> {
        self.client.execute_unary(self.id(), code, opts).await
    }

    /// Re-reads the session's state from the server.
    pub async fn refresh(&mut self) -> Result<&SessionInfo, Error> {
        self.info = self.client.get_session(self.id()).await?;
        Ok(&self.info)
    }

    /// Closes the session server-side.
    pub async fn close(self) -> Result<SessionInfo, Error> {
        self.client.close_session(self.id()).await
    }
}
