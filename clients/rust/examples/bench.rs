//! Execute round trips from the Rust client beside a bare gRPC call (health Check, the
//! Python bench's echo) on the same server, interleaved; prints JSON medians for
//! bench/rust.py (`make bench`).
//!     cargo run --release --example bench -- --address 127.0.0.1:50051 --rounds 2000
use std::time::Instant;

use sandcell_client::{Client, ExecuteOptions, SessionOptions, Tools};

fn flag(args: &[String], name: &str, default: &str) -> String {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned()).unwrap_or_else(|| default.into())
}

fn median_ms(mut v: Vec<u128>) -> f64 {
    v.sort_unstable();
    v[v.len() / 2] as f64 / 1e6
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let address = flag(&args, "--address", "127.0.0.1:50051");
    let rounds: usize = flag(&args, "--rounds", "2000").parse()?;
    let warmup: usize = flag(&args, "--warmup", "200").parse()?;

    let client = Client::connect(address.clone()).await?;
    let session = client.create_session(SessionOptions::default()).await?;
    session.execute("v = 0").await?;
    let (tools, opts) = (Tools::new(), ExecuteOptions::default());
    let code = "v = v + 1\nv";
    let (mut echo, mut unary, mut stream) = (Vec::new(), Vec::new(), Vec::new());
    for round in 0..rounds + warmup {
        let t = Instant::now();
        assert!(client.health("").await, "the server stopped serving");
        let e = t.elapsed().as_nanos();
        let t = Instant::now();
        session.execute_unary(code, &opts).await?;
        let u = t.elapsed().as_nanos();
        let t = Instant::now();
        session.execute_with(code, &tools, &opts).await?;
        let s = t.elapsed().as_nanos();
        if round >= warmup {
            echo.push(e);
            unary.push(u);
            stream.push(s);
        }
    }
    let expected = 2 * (rounds + warmup);
    let got = session.execute("v").await?.value.and_then(|v| v.json);
    assert_eq!(got, Some(serde_json::json!(expected)), "state drifted during the run");
    session.close().await?;
    println!(
        "{}",
        serde_json::json!({
            "rounds": rounds,
            "echo_p50_ms": median_ms(echo),
            "execute_unary_p50_ms": median_ms(unary),
            "execute_stream_p50_ms": median_ms(stream),
        })
    );
    Ok(())
}
