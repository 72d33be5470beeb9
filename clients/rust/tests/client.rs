//! The Rust client against a real executor process over real gRPC on loopback.
mod common;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::json;

use common::{guarded, pki, shared, tls_server, OTHER_TOKEN, TOKEN};
use sandcell_client::pb::ErrorReason;
use sandcell_client::{
    Client, Error, Event, ExecuteOptions, ExecuteStatus, Exhausted, Limits, OutputStream, SessionOptions,
    SessionState, TlsOptions, ToolError, ToolSpec, Tools,
};

fn with_sys() -> SessionOptions {
    SessionOptions { extra_imports: vec!["sys".into()], ..Default::default() }
}

fn limits(wall_timeout_ms: u64) -> SessionOptions {
    SessionOptions { limits: Limits { wall_timeout_ms: Some(wall_timeout_ms), ..Limits::default() }, ..Default::default() }
}

#[tokio::test]
async fn state_persists_across_executes_and_values_decode() {
    let client = shared().client().await;
    assert!(client.health("").await && client.health("sandcell.executor.v1.ExecutorService").await);
    assert!(!client.health("no.such.Service").await);
    let s = client.create_session(SessionOptions::default()).await.unwrap();
    assert_eq!(s.info().state, SessionState::Idle);
    let r = s.execute("x = 21\ndef double(n):\n    return n * 2").await.unwrap();
    assert!(r.ok() && r.value.is_none(), "{r:?}");
    let v = s.execute("double(x)").await.unwrap().value.unwrap();
    assert_eq!((v.type_name.as_str(), v.json, v.repr.as_str()), ("int", Some(json!(42)), "42"));
    // A tuple arrives as a JSON array, its type name says it was a tuple.
    let v = s.execute("(1, 'a', None, {'k': [1.5, True]})").await.unwrap().value.unwrap();
    assert_eq!(v.type_name, "tuple");
    assert_eq!(v.json, Some(json!([1, "a", null, {"k": [1.5, true]}])));
    // As in a Python REPL, a trailing None is no value; inside a container it is JSON null.
    assert_eq!(s.execute("None").await.unwrap().value, None);
    assert_eq!(s.execute("[None]").await.unwrap().value.unwrap().json, Some(json!([null])));
    // No JSON form: only the type name and the repr.
    for (code, type_name, repr) in [("{1, 2}", "set", "{1, 2}"), ("float('nan')", "float", "nan"), ("{1: 'a'}", "dict", "{1: 'a'}")] {
        let v = s.execute(code).await.unwrap().value.unwrap();
        assert_eq!((v.type_name.as_str(), v.json.clone(), v.repr.as_str()), (type_name, None, repr), "{code}");
    }
    let r = s.execute("1 / 0").await.unwrap();
    let err = r.error.unwrap();
    assert_eq!((r.status, err.type_name.as_str(), err.line_number), (ExecuteStatus::Error, "ZeroDivisionError", Some(1)));
    assert_eq!(s.execute("x").await.unwrap().value.unwrap().json, Some(json!(21)));
    let info = client.get_session(s.id()).await.unwrap();
    assert_eq!((info.execute_count, info.state), (10, SessionState::Idle));
    assert!(client.list_sessions().await.unwrap().iter().any(|i| i.session_id == s.id()));
    let id = s.id().to_owned();
    s.close().await.unwrap();
    assert!(matches!(client.get_session(&id).await, Err(Error::SessionNotFound(_))));
}

#[tokio::test]
async fn session_settings_round_trip() {
    let client = shared().client().await;
    let opts = SessionOptions {
        limits: Limits { wall_timeout_ms: Some(5_000), memory_bytes: Some(256 << 20), ..Limits::default() },
        tools: vec![ToolSpec::new("search").description("Searches").output_type("string")],
        file_access: false,
        ..Default::default()
    };
    let s = client.create_session(opts).await.unwrap();
    let info = s.info();
    assert_eq!((info.limits.wall_timeout_ms, info.limits.memory_bytes), (Some(5_000), Some(256 << 20)));
    assert!(info.limits.cpu_per_execute_ms.is_some(), "the server echoes its defaults");
    assert_eq!((info.tools[0].name.as_str(), info.tools[0].output_type.as_str()), ("search", "string"));
    assert!(!info.file_access);
    let r = s.execute("open('f', 'w')").await.unwrap();
    assert_eq!(r.status, ExecuteStatus::Error, "{r:?}");
    s.close().await.unwrap();
}

#[tokio::test]
async fn streamed_output_arrives_in_order_as_it_is_printed() {
    let client = shared().client().await;
    let s = client.create_session(with_sys()).await.unwrap();
    let code = "import sys, time\nfor i in range(20):\n    print(i)\n    print('e', i, file=sys.stderr)\n\
                print('before', flush=True)\ntime.sleep(1.5)\nprint('after')\n'done'";
    let mut run = s.execute_stream(code, Tools::new(), &ExecuteOptions::default()).await.unwrap();
    let (mut out, mut err, mut before_at) = (String::new(), String::new(), None);
    let result = loop {
        match run.next().await.unwrap() {
            Event::Output(OutputStream::Stdout, text) => {
                out.push_str(&text);
                if out.contains("before") && before_at.is_none() {
                    before_at = Some(Instant::now());
                }
            }
            Event::Output(OutputStream::Stderr, text) => err.push_str(&text),
            Event::Finished(result) => break result,
        }
    };
    let expected_out: String = (0..20).map(|i| format!("{i}\n")).collect::<String>() + "before\nafter\n";
    let expected_err: String = (0..20).map(|i| format!("e {i}\n")).collect();
    assert_eq!((out.as_str(), err.as_str()), (expected_out.as_str(), expected_err.as_str()));
    assert_eq!((result.stdout, result.stderr), (expected_out, expected_err));
    // "before" was delivered while the code still slept, not with the result.
    assert!(before_at.unwrap().elapsed() > Duration::from_millis(700), "output was not streamed");
    assert!(matches!(run.next().await, Err(Error::Protocol(_))));
    s.close().await.unwrap();
}

#[tokio::test]
async fn tool_callbacks_return_values_and_errors() {
    let client = shared().client().await;
    let calls = Arc::new(AtomicUsize::new(0));
    let counter = calls.clone();
    let tools = Tools::new()
        .add("add", move |args| {
            let counter = counter.clone();
            async move {
                counter.fetch_add(1, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(10)).await; // a real await inside the tool
                Ok(json!(args["a"].as_i64().unwrap() + args["b"].as_i64().unwrap()))
            }
        })
        .add("lookup", |args| async move {
            Err(ToolError::new("KeyError", format!("no entry for {}", args["q"])))
        });
    let opts = SessionOptions {
        tools: vec![ToolSpec::new("add"), ToolSpec::new("lookup"), ToolSpec::new("unanswered")],
        ..Default::default()
    };
    let s = client.create_session(opts).await.unwrap();
    let r = s.execute_with("total = add(a=2, b=3) + add(a=10, b=20)\ntotal", &tools, &ExecuteOptions::default()).await.unwrap();
    assert_eq!(r.value.unwrap().json, Some(json!(35)));
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    let r = s
        .execute_with("try:\n    lookup(q='x')\nexcept ToolError as e:\n    caught = str(e)\ncaught", &tools, &ExecuteOptions::default())
        .await
        .unwrap();
    let caught = r.value.unwrap().json.unwrap();
    assert!(caught.as_str().unwrap().contains("KeyError") && caught.as_str().unwrap().contains("no entry for \"x\""), "{caught}");
    let r = s.execute_with("lookup(q='y')", &tools, &ExecuteOptions::default()).await.unwrap();
    assert_eq!((r.status, r.error.unwrap().type_name.as_str()), (ExecuteStatus::Error, "ToolError"));
    // A declared tool without a handler fails inside the code, not the call.
    let r = s.execute_with("unanswered()", &tools, &ExecuteOptions::default()).await.unwrap();
    assert!(r.error.unwrap().message.contains("has no handler"));
    assert_eq!(s.execute("total").await.unwrap().value.unwrap().json, Some(json!(35)));
    s.close().await.unwrap();
}

#[tokio::test]
async fn unary_execute_collects_output() {
    let client = shared().client().await;
    let s = client.create_session(with_sys()).await.unwrap();
    let r = s.execute_unary("import sys\nprint('out')\nprint('err', file=sys.stderr)\n6 * 7", &ExecuteOptions::default()).await.unwrap();
    assert_eq!((r.stdout.as_str(), r.stderr.as_str()), ("out\n", "err\n"));
    assert_eq!(r.value.unwrap().json, Some(json!(42)));
    s.close().await.unwrap();
}

#[tokio::test]
async fn timeout_keeps_state_and_a_kill_restores_it() {
    let client = shared().client().await;
    let s = client.create_session(limits(1_000)).await.unwrap();
    s.execute("kept = [1, 2, 3]\ndef helper(n):\n    return n + 1").await.unwrap();
    let r = s.execute("import time\nprogress = 0\nwhile True:\n    progress += 1\n    time.sleep(0.01)").await.unwrap();
    assert_eq!((r.status, r.error.unwrap().type_name.as_str(), r.restored), (ExecuteStatus::Timeout, "TimeoutError", false));
    assert!(r.message.contains("wall-clock"), "{}", r.message);
    assert_eq!(s.execute("progress > 10").await.unwrap().value.unwrap().json, Some(json!(true)));
    // A C-level loop ignores the TimeoutError: the worker is killed and restored.
    let opts = ExecuteOptions { wall_timeout_ms: Some(500), ..Default::default() };
    let r = s.execute_with("sum(range(10**12))", &Tools::new(), &opts).await.unwrap();
    assert_eq!((r.status, r.restored), (ExecuteStatus::Timeout, true), "{r:?}");
    assert_eq!(s.execute("helper(kept[-1])").await.unwrap().value.unwrap().json, Some(json!(4)));
    assert_eq!(client.get_session(s.id()).await.unwrap().restore_count, 1);
    s.close().await.unwrap();
}

#[tokio::test]
async fn errors_not_found_busy_too_large_invalid() {
    let client = shared().client().await;
    match client.get_session("no-such-session").await {
        Err(Error::SessionNotFound(d)) => assert_eq!(d.error_reason(), Some(ErrorReason::SessionNotFound)),
        other => panic!("{other:?}"),
    }
    let gone = client.execute("no-such-session", "1", &Tools::new(), &ExecuteOptions::default()).await;
    assert!(matches!(gone, Err(Error::SessionNotFound(_))), "{gone:?}");
    assert!(matches!(client.execute_unary("no-such-session", "1", &ExecuteOptions::default()).await, Err(Error::SessionNotFound(_))));

    let s = client.create_session(SessionOptions::default()).await.unwrap();
    let mut running = s.execute_stream("import time\nprint('go', flush=True)\ntime.sleep(2)", Tools::new(), &ExecuteOptions::default()).await.unwrap();
    assert!(matches!(running.next().await.unwrap(), Event::Output(..)), "the first execute is running");
    match s.execute("1").await {
        Err(Error::SessionBusy(d)) => assert_eq!((d.reason.as_str(), d.error_reason()), ("SESSION_BUSY", Some(ErrorReason::SessionBusy))),
        other => panic!("{other:?}"),
    }
    while !matches!(running.next().await.unwrap(), Event::Finished(_)) {}

    // Closing a session under a running execute: that caller gets SessionClosed.
    let doomed = client.create_session(SessionOptions::default()).await.unwrap();
    let mut running = doomed.execute_stream("import time\nprint('go', flush=True)\ntime.sleep(30)", Tools::new(), &ExecuteOptions::default()).await.unwrap();
    assert!(matches!(running.next().await.unwrap(), Event::Output(..)));
    client.close_session(doomed.id()).await.unwrap();
    let mut next = running.next().await;
    while let Ok(Event::Output(..)) = next {
        next = running.next().await; // the rest of "go\n" may still be on its way
    }
    match next {
        Err(Error::SessionClosed(d)) => assert_eq!(d.error_reason(), Some(ErrorReason::SessionClosed)),
        other => panic!("{other:?}"),
    }

    let huge = format!("x = '{}'", "a".repeat(1_100_000));
    match s.execute(&huge).await {
        Err(Error::ResourceExhausted(Exhausted::RequestTooLarge, d)) => assert!(d.message.contains("limit"), "{d:?}"),
        other => panic!("{other:?}"),
    }
    let bad = SessionOptions { limits: Limits { memory_bytes: Some(1 << 50), ..Limits::default() }, ..Default::default() };
    match client.create_session(bad).await {
        Err(Error::InvalidArgument(d)) => {
            assert_eq!(d.metadata.get("field").map(String::as_str), Some("limits.memory_bytes"));
            assert_eq!(d.error_reason(), Some(ErrorReason::InvalidArgument));
        }
        other => panic!("{other:?}"),
    }
    let bad = SessionOptions { extra_imports: vec!["not a module!".into()], ..Default::default() };
    assert!(matches!(client.create_session(bad).await, Err(Error::InvalidArgument(_))));
    assert!(matches!(client.execute_unary("", "1", &ExecuteOptions::default()).await, Err(Error::InvalidArgument(_))));
    // After all those mistakes the session still has its state and works.
    assert_eq!(s.execute("1 + 1").await.unwrap().value.unwrap().json, Some(json!(2)));
    s.close().await.unwrap();
}

#[tokio::test]
async fn errors_unauthenticated_quota_and_too_many_sessions() {
    let server = guarded();
    for client in [server.client().await, Client::builder(server.address.clone()).token("wrong").connect().await.unwrap()] {
        match client.list_sessions().await {
            Err(Error::Unauthenticated(d)) => {
                assert_eq!(d.error_reason(), Some(ErrorReason::Unauthenticated));
                assert!(d.message.contains("token"), "{}", d.message);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(client.create_session(SessionOptions::default()).await, Err(Error::Unauthenticated(_))));
    }
    assert!(server.client().await.health("").await, "health needs no token, like the probes");
    let alice = Client::builder(server.address.clone()).token(TOKEN).connect().await.unwrap();
    let bob = Client::builder(server.address.clone()).token(OTHER_TOKEN).connect().await.unwrap();
    let b = bob.create_session(SessionOptions::default()).await.unwrap();
    match bob.create_session(SessionOptions::default()).await {
        Err(Error::ResourceExhausted(Exhausted::TenantQuota(quota), d)) => {
            assert_eq!((quota.as_str(), d.error_reason()), ("max_sessions", Some(ErrorReason::TenantQuotaMaxSessions)));
            assert!(d.retry_after.is_some(), "a quota answer carries RetryInfo: {d:?}");
        }
        other => panic!("{other:?}"),
    }
    // Tenants are isolated: bob's session does not exist for alice.
    assert!(matches!(alice.get_session(b.id()).await, Err(Error::SessionNotFound(_))));
    let a = alice.create_session(SessionOptions::default()).await.unwrap();
    match alice.create_session(SessionOptions::default()).await {
        Err(Error::ResourceExhausted(Exhausted::TooManySessions, d)) => assert_eq!(d.reason, "TOO_MANY_SESSIONS"),
        other => panic!("{other:?}"),
    }
    assert_eq!(a.execute("'still here'").await.unwrap().value.unwrap().json, Some(json!("still here")));
    a.close().await.unwrap();
    b.close().await.unwrap();
}

fn tls(ca: &str, client: Option<&str>) -> TlsOptions {
    let pki = pki();
    TlsOptions {
        ca_pem: Some(pki.read(ca)),
        domain: None, // the certificate names 127.0.0.1, the address's host
        identity: client.map(|c| (pki.read(&format!("{c}.crt")), pki.read(&format!("{c}.key")))),
    }
}

#[tokio::test]
async fn tls_with_a_token() {
    let server = tls_server(false);
    let client = Client::builder(server.address.clone()).tls(tls("ca.pem", None)).token(TOKEN).connect().await.unwrap();
    let s = client.create_session(SessionOptions::default()).await.unwrap();
    assert_eq!(s.execute("6 * 7").await.unwrap().value.unwrap().json, Some(json!(42)));
    s.close().await.unwrap();
    // A server whose certificate another CA signed is refused; so is plain text to a TLS port.
    let rogue = Client::builder(server.address.clone()).tls(tls("rogue.pem", None)).token(TOKEN).connect().await;
    assert!(matches!(rogue, Err(Error::Connect(_))), "{rogue:?}");
    let plain = Client::builder(server.address.clone()).token(TOKEN).connect().await;
    let refused = match plain {
        Err(Error::Connect(_)) => true,
        Ok(c) => matches!(c.list_sessions().await, Err(Error::Unavailable(_) | Error::Other(_))),
        Err(other) => panic!("{other:?}"),
    };
    assert!(refused);
}

#[tokio::test]
async fn mtls_client_certificate_names_the_tenant() {
    let server = tls_server(true);
    let carol = Client::builder(server.address.clone()).tls(tls("ca.pem", Some("carol"))).connect().await.unwrap();
    let dave = Client::builder(server.address.clone()).tls(tls("ca.pem", Some("dave"))).connect().await.unwrap();
    let s = carol.create_session(SessionOptions::default()).await.unwrap();
    s.execute("secret = 1").await.unwrap();
    assert!(matches!(dave.get_session(s.id()).await, Err(Error::SessionNotFound(_))), "dave is another tenant");
    assert!(dave.list_sessions().await.unwrap().iter().all(|i| i.session_id != s.id()));
    assert_eq!(carol.get_session(s.id()).await.unwrap().execute_count, 1);
    s.close().await.unwrap();
    // A certificate from another CA, or none, does not get a session.
    for identity in [Some("mallory"), None] {
        let outcome = match Client::builder(server.address.clone()).tls(tls("ca.pem", identity)).connect().await {
            Err(e) => e,
            Ok(c) => c.create_session(SessionOptions::default()).await.expect_err("refused"),
        };
        assert!(matches!(outcome, Error::Connect(_) | Error::Unavailable(_)), "{identity:?}: {outcome:?}");
        eprintln!("{identity:?}: {outcome}");
    }
}

#[tokio::test]
async fn connect_errors_are_typed() {
    assert!(matches!(Client::connect("127.0.0.1:1").await, Err(Error::Connect(_))));
    assert!(matches!(Client::connect("not a uri at all").await, Err(Error::Connect(_))));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_sessions_keep_their_own_state() {
    let client = shared().client().await;
    let mut tasks = Vec::new();
    for i in 0..4i64 {
        let client = client.clone();
        tasks.push(tokio::spawn(async move {
            let s = client.create_session(SessionOptions::default()).await.unwrap();
            s.execute(&format!("mine = {i}\nacc = []")).await.unwrap();
            for step in 0..5 {
                let r = s.execute(&format!("import time\ntime.sleep(0.05)\nacc.append(mine * 100 + {step})\nlen(acc)")).await.unwrap();
                assert_eq!(r.value.unwrap().json, Some(json!(step + 1)));
            }
            let r = s.execute("acc").await.unwrap();
            s.close().await.unwrap();
            (i, r.value.unwrap().json.unwrap())
        }));
    }
    for task in tasks {
        let (i, acc) = task.await.unwrap();
        assert_eq!(acc, json!((0..5).map(|s| i * 100 + s).collect::<Vec<_>>()));
    }
}
