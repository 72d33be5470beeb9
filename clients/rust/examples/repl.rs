//! A small REPL on a sandcell session: `cargo run --example repl -- --address 127.0.0.1:50051`.
//! Flags: --token T (or SANDCELL_TOKEN), --tls-ca ca.pem [--tls-domain name]. A cell ends with an
//! empty line (or is one line); output streams as the code prints it. A tool `now()` is
//! answered by this process, to show a callback.
use std::io::{BufRead, Write};

use sandcell_client::{Client, Event, ExecuteOptions, OutputStream, SessionOptions, ToolSpec, Tools};

fn flag(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1).cloned())
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let address = flag(&args, "--address").unwrap_or_else(|| "127.0.0.1:50051".into());
    let mut builder = Client::builder(address);
    if let Some(token) = flag(&args, "--token").or_else(|| std::env::var("SANDCELL_TOKEN").ok()) {
        builder = builder.token(token);
    }
    if let Some(ca) = flag(&args, "--tls-ca") {
        let tls = sandcell_client::TlsOptions { ca_pem: Some(std::fs::read(ca)?), domain: flag(&args, "--tls-domain"), identity: None };
        builder = builder.tls(tls);
    }
    let client = builder.connect().await?;
    let opts = SessionOptions { tools: vec![ToolSpec::new("now").description("Seconds since the epoch, from the client")], ..Default::default() };
    let session = client.create_session(opts).await?;
    let tools = Tools::new().add("now", |_args| async {
        let secs = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs_f64();
        Ok(serde_json::json!(secs))
    });
    eprintln!("session {} (end a cell with an empty line; Ctrl-D quits)", session.id());
    let stdin = std::io::stdin();
    let mut lines = stdin.lock().lines();
    loop {
        eprint!(">>> ");
        let mut cell = String::new();
        while let Some(line) = lines.next().transpose()? {
            if line.is_empty() {
                break;
            }
            cell.push_str(&line);
            cell.push('\n');
            if !line.ends_with(':') && !line.starts_with([' ', '\t']) && cell.lines().count() == 1 {
                break; // a one-line statement runs at once
            }
            eprint!("... ");
        }
        if cell.is_empty() {
            break;
        }
        let mut run = session.execute_stream(&cell, tools.clone(), &ExecuteOptions::default()).await?;
        let result = loop {
            match run.next().await? {
                Event::Output(OutputStream::Stdout, text) => print!("{text}"),
                Event::Output(OutputStream::Stderr, text) => eprint!("{text}"),
                Event::Finished(result) => break result,
            }
        };
        std::io::stdout().flush()?;
        if let Some(err) = &result.error {
            println!("{}", if err.traceback.is_empty() { format!("{}: {}", err.type_name, err.message) } else { err.traceback.clone() });
        } else if let Some(value) = &result.value {
            println!("{}", value.repr);
        }
        if !result.ok() {
            println!("[{:?}] {}", result.status, result.message);
        }
    }
    session.close().await?;
    Ok(())
}
