//! A real HTTP server for webhook tests: Python's http.server, appending each POSTed JSON body
//! to a file; killed and waited for when dropped.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::Duration;

/// A webhook receiver: appends each POSTed body (and a newline) to a file, answers 503 to the
/// first `fail_first` requests and 415 to a body that is not declared as JSON.
pub const SERVER: &str = r#"
import http.server, sys
port, out, fail_first = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
seen = 0
class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        global seen
        seen += 1
        body = self.rfile.read(int(self.headers.get('Content-Length', '0')))
        if seen <= fail_first:
            code = 503
        elif self.headers.get('Content-Type') != 'application/json':
            code = 415
        else:
            with open(out, 'ab') as f:
                f.write(body + b'\n')
            code = 200
        self.send_response(code)
        self.send_header('Content-Length', '0')
        self.end_headers()
    def log_message(self, *args):
        pass
server = http.server.HTTPServer(('127.0.0.1', port), Handler)
print('READY', server.server_address[1], flush=True)
server.serve_forever()
"#;

/// The Python server, killed and waited for when dropped.
pub struct Server {
    child: Child,
    pub port: u16,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts the server on `port` (0: any free port) and waits (bounded) until it listens.
pub fn start_server(port: u16, bodies: &Path, fail_first: u32) -> Server {
    start_server_in(Command::new("python3"), port, bodies, fail_first)
}

/// Starts the server with `python3` (a `Command` for it, e.g. run inside a network namespace).
pub fn start_server_in(mut python3: Command, port: u16, bodies: &Path, fail_first: u32) -> Server {
    let child = python3
        .args(["-c", SERVER, &port.to_string()])
        .arg(bodies)
        .arg(fail_first.to_string())
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 is needed for the webhook tests");
    let mut server = Server { child, port: 0 };
    let stdout = server.child.stdout.take().expect("piped stdout");
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        let mut line = String::new();
        let _ = BufReader::new(stdout).read_line(&mut line);
        let _ = tx.send(line);
    });
    let line = rx
        .recv_timeout(Duration::from_secs(10))
        .expect("the webhook server did not start within 10 s");
    server.port = line
        .strip_prefix("READY ")
        .and_then(|p| p.trim().parse().ok())
        .unwrap_or_else(|| panic!("the webhook server did not start: {line:?}"));
    server
}
