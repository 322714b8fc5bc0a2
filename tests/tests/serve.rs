//! Serial streaming: the `serve` firmware under QEMU `mps2-an386`, its UART0 on a TCP socket
//! (`-serial tcp:127.0.0.1:PORT,server=on,wait=on,nodelay=on`, a free port), driven by the
//! `lifted remote` client.
//!
//! 1. `lifted remote` streams the 250 digits of the test split; every answer must equal the host's
//!    `lifted-core` result bit for bit (0 mismatches).
//! 2. A second connection sends malformed frames — bad COBS, bad postcard, trailing and truncated
//!    messages, wrong input lengths, NaN, ±∞, out-of-range values, an oversized frame, garbage
//!    without a delimiter, empty frames — and each must get its error frame, after which the
//!    device still answers correctly and was never reset (no unsolicited `Ready`).
//! 3. `Shutdown` ends QEMU with exit status 0: no panic or fault happened on the way.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use lifted::data::DatasetKind;
use lifted::device::remote::{self, host_answer, Link, RemoteArgs, RemoteSplit, Reply, Session};
use lifted_core::write::Blob;
use lifted_core::ModelView;
use lifted_proto::frame::{self, ErrorFrame, ErrorKind, F32s, Request};
use lifted_tests::events::TestEvent;
use lifted_tests::firmware::{self, firmware_dir, skip_without_qemu, THUMBV7EM};

const TIMEOUT: Duration = Duration::from_secs(20);

/// QEMU running `serve`, killed on drop unless it exited.
struct Qemu {
    child: Option<Child>,
    port: u16,
}

impl Drop for Qemu {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            if matches!(child.try_wait(), Ok(None)) {
                let _ = child.kill();
            }
            let _ = child.wait();
        }
    }
}

impl Qemu {
    /// Starts QEMU on a free local port (retried if another process takes the port first).
    fn start(elf: &PathBuf) -> Qemu {
        for _ in 0..5 {
            let port = TcpListener::bind("127.0.0.1:0")
                .and_then(|l| l.local_addr())
                .map(|a| a.port())
                .expect("a free local port");
            let serial = format!("tcp:127.0.0.1:{port},server=on,wait=on,nodelay=on");
            let mut child = Command::new("timeout")
                .args(["--foreground", "300", "qemu-system-arm"])
                .args(["-machine", "mps2-an386", "-nographic", "-monitor", "none"])
                .args(["-semihosting-config", "enable=on,target=native"])
                .args(["-serial", &serial, "-kernel"])
                .arg(elf)
                .stdin(Stdio::null())
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("qemu-system-arm starts");
            // Wait until QEMU listens (or gave up on the port).
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(10) {
                if let Ok(Some(_)) = child.try_wait() {
                    break;
                }
                if is_listening(port) {
                    return Qemu {
                        child: Some(child),
                        port,
                    };
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
        panic!("QEMU did not listen on a local TCP port");
    }

    /// Waits for QEMU to exit; returns its status code and output.
    fn wait(mut self, limit: Duration) -> (Option<i32>, String) {
        let mut child = self.child.take().expect("QEMU is running");
        let start = Instant::now();
        while start.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        if matches!(child.try_wait(), Ok(None)) {
            let _ = child.kill();
        }
        let out = child.wait_with_output().expect("QEMU output");
        let text = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        (out.status.code(), text)
    }
}

/// Whether something listens on 127.0.0.1:`port`, judged from /proc/net/tcp (LISTEN = 0A), so
/// that probing does not consume QEMU's single `wait=on` connection.
fn is_listening(port: u16) -> bool {
    let needle = format!(":{port:04X} 00000000:0000 0A");
    std::fs::read_to_string("/proc/net/tcp").is_ok_and(|t| t.contains(&needle))
}

fn demo_model() -> (PathBuf, Blob) {
    let path = firmware_dir().join("models").join("demo.lfm");
    let bytes = std::fs::read(&path).expect("firmware/models/demo.lfm");
    (path, Blob::from_bytes(&bytes))
}

fn infer_request(id: u32, values: &[f32]) -> Vec<u8> {
    let bytes: Vec<u8> = values.iter().flat_map(|v| v.to_le_bytes()).collect();
    frame::encode_vec(&Request::Infer {
        id,
        input: F32s::from_le_bytes(&bytes),
    })
}

fn expect_error(s: &mut Session<Link>, what: &str, id: Option<u32>, kind: ErrorKind) {
    match s.recv() {
        Ok(Reply::Error(e)) => assert_eq!(e, ErrorFrame { id, kind }, "{what}"),
        other => panic!("{what}: expected error {kind:?}, got {other:?}"),
    }
}

#[test]
fn serve_streams_digits_and_survives_malformed_frames() {
    let mut event = TestEvent::start("serve::serve_streams_digits_and_survives_malformed_frames");
    if event.skip_if(skip_without_qemu(
        "serve_streams_digits_and_survives_malformed_frames",
    )) {
        return;
    }
    let elf =
        firmware::build("serve", THUMBV7EM, &[], "serve-demo").unwrap_or_else(|e| panic!("{e}"));
    let (model_path, blob) = demo_model();
    let model = ModelView::new_checked(blob.as_bytes()).expect("demo model loads");
    let qemu = Qemu::start(&elf);
    let port = format!("tcp:127.0.0.1:{}", qemu.port);

    // 1. The `lifted remote` command path, on the 250 digits of the test split.
    let args = RemoteArgs {
        port: port.clone(),
        model: Some(model_path),
        dataset: Some(DatasetKind::Digits),
        own: Default::default(),
        data_dir: None,
        split: RemoteSplit::Test,
        limit: None,
        baud: 115_200,
        timeout: TIMEOUT.as_secs_f64(),
        radii: lifted::eval::args::CertRadii {
            l2: vec![0.1, 0.3],
            linf: vec![0.01, 0.03],
        },
        show: 5,
        shutdown: false,
        json: false,
    };
    let report = remote::run(&args).unwrap_or_else(|e| panic!("lifted remote: {e:#}"));
    assert_eq!(report.inputs, 250);
    assert_eq!(report.answered, 250);
    assert_eq!(report.mismatches, 0, "{report}");

    // 2. Malformed frames on a second connection.
    let link = Link::open(&port, 115_200, TIMEOUT).expect("reconnect");
    let mut s = Session::connect(link, TIMEOUT).expect("handshake");
    let n0 = model.input_dim();
    let good: Vec<f32> = (0..n0).map(|j| (j % 17) as f32 / 16.0).collect();

    s.send_raw(&[0x05, 0x01, 0x00]).expect("send");
    expect_error(&mut s, "bad COBS", None, ErrorKind::Cobs);

    s.send_raw(&[0x02, 0x09, 0x00]).expect("send");
    expect_error(&mut s, "unknown request tag", None, ErrorKind::Decode);

    s.send_raw(&[0x03, 0x02, 0x07, 0x00]).expect("send");
    expect_error(
        &mut s,
        "Shutdown with a trailing byte",
        None,
        ErrorKind::Decode,
    );

    let mut raw = Vec::new();
    raw.extend_from_slice(&[1, 42, 0x80, 0x02]); // Infer, id 42, 256 bytes announced…
    raw.extend_from_slice(&[0x3f; 10]); // …but only 10 follow
    let mut truncated = cobs_encode(&raw);
    truncated.push(0);
    s.send_raw(&truncated).expect("send");
    expect_error(&mut s, "truncated Infer", None, ErrorKind::Decode);

    s.send_raw(&infer_request(7, &good[..n0 - 1]))
        .expect("send");
    let want_bytes = 4 * n0 as u32;
    expect_error(
        &mut s,
        "one value short",
        Some(7),
        ErrorKind::InputLength {
            expected_bytes: want_bytes,
            got_bytes: want_bytes - 4,
        },
    );

    let bytes: Vec<u8> = good.iter().flat_map(|v| v.to_le_bytes()).collect();
    let odd = frame::encode_vec(&Request::Infer {
        id: 8,
        input: F32s::from_le_bytes(&bytes[..bytes.len() - 1]),
    });
    s.send_raw(&odd).expect("send");
    expect_error(
        &mut s,
        "not a whole number of f32",
        Some(8),
        ErrorKind::InputLength {
            expected_bytes: want_bytes,
            got_bytes: want_bytes - 1,
        },
    );

    for (id, index, value, kind) in [
        (9, 5, f32::NAN, ErrorKind::InputNonFinite { index: 5 }),
        (10, 0, f32::INFINITY, ErrorKind::InputNonFinite { index: 0 }),
        (
            11,
            3,
            f32::NEG_INFINITY,
            ErrorKind::InputNonFinite { index: 3 },
        ),
        (12, 7, 1.5, ErrorKind::InputOutOfRange { index: 7 }),
        (
            13,
            n0 - 1,
            -0.25,
            ErrorKind::InputOutOfRange {
                index: n0 as u32 - 1,
            },
        ),
    ] {
        let mut x = good.clone();
        x[index] = value;
        s.send_raw(&infer_request(id, &x)).expect("send");
        expect_error(&mut s, &format!("input {index} = {value}"), Some(id), kind);
        // The host refuses the same inputs the same way.
        assert_eq!(host_answer(&model, id, &x).err(), Some(kind));
    }

    let mut huge = vec![0x01u8; 20_000];
    huge.push(0);
    s.send_raw(&huge).expect("send");
    let max = s.ready.max_frame;
    expect_error(&mut s, "oversized frame", None, ErrorKind::TooLong { max });

    // Garbage without a delimiter merges with the next frame: one error, then back in sync.
    s.send_raw(&[0x07, 0x07, 0x07]).expect("send");
    s.send(&Request::Hello { nonce: 1 }).expect("send");
    match s.recv() {
        Ok(Reply::Error(e)) => assert!(
            e.id.is_none() && matches!(e.kind, ErrorKind::Cobs | ErrorKind::Decode),
            "garbage prefix: {e:?}"
        ),
        other => panic!("garbage prefix: expected an error, got {other:?}"),
    }

    // Empty frames are ignored; the device still answers, bit for bit, and was not reset.
    s.send_raw(&[0, 0, 0]).expect("send");
    for id in [100u32, 101] {
        s.send_raw(&infer_request(id, &good)).expect("send");
        match s.recv() {
            Ok(Reply::Answer(a)) => {
                let want = host_answer(&model, id, &good).expect("host answer");
                assert!(a.diff(&want).is_empty(), "answer {id}: {:?}", a.diff(&want));
            }
            other => panic!("request {id}: expected an answer, got {other:?}"),
        }
    }
    s.send(&Request::Hello { nonce: 0xfeed }).expect("send");
    match s.recv() {
        Ok(Reply::Ready(r)) => {
            assert_eq!(r.reply_to, Some(0xfeed), "a reset would send reply_to None")
        }
        other => panic!("Hello: expected Ready, got {other:?}"),
    }

    // 3. Shutdown: QEMU exits 0, so nothing above panicked or faulted.
    s.shutdown().expect("send Shutdown");
    let (code, output) = qemu.wait(TIMEOUT);
    assert_eq!(code, Some(0), "QEMU output:\n{output}");
    assert!(output.contains("serve: shutdown requested"), "{output}");
}

/// COBS encoding (for hand-made malformed messages).
fn cobs_encode(raw: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(raw.len() + raw.len() / 254 + 2);
    let mut code_at = 0;
    out.push(0);
    let mut code = 1u8;
    for &b in raw {
        if b == 0 {
            out[code_at] = code;
            code_at = out.len();
            out.push(0);
            code = 1;
        } else {
            out.push(b);
            code += 1;
            if code == 0xff {
                out[code_at] = code;
                code_at = out.len();
                out.push(0);
                code = 1;
            }
        }
    }
    out[code_at] = code;
    out
}
