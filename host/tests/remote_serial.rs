//! `lifted remote` over a real serial device node: a pseudo-terminal pair stands in for a board's
//! UART. The device end runs the firmware's protocol server (`lifted_proto::server::Server`) with
//! the demo model; the host end is opened by path through the `serialport` crate, as a
//! `/dev/ttyACM0` would be.
#![cfg(unix)]

use std::io::{Read, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::{Args, Command, FromArgMatches};
use lifted_core::write::Blob;
use lifted_core::{ModelView, Workspace, MAX_LAYERS};
use lifted_proto::server::{
    describe, frame_buffer_len, tx_buffer_len, Buffers, OnShutdown, Server, Step,
};
use serialport::SerialPort as _;

const DEMO: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../firmware/models/demo.lfm");

/// Serves the demo model on `port` until a Shutdown request, `stop`, or 60 s.
fn device(mut port: serialport::TTYPort, stop: &AtomicBool) {
    let bytes = std::fs::read(DEMO).unwrap();
    let blob = Blob::from_bytes(&bytes);
    let model = ModelView::new_checked(blob.as_bytes()).unwrap();
    let (n0, classes) = (model.input_dim(), model.classes());
    let mut frame = vec![0u8; frame_buffer_len(n0)];
    let mut tx = vec![0u8; tx_buffer_len(classes)];
    let mut input = vec![0.0f32; n0];
    let mut workspace = vec![0.0f32; Workspace::required(&model)];
    let mut logits = vec![0u8; 4 * classes];
    let mut internal = vec![0u8; 4 * MAX_LAYERS];
    let ready = describe(&model, blob.as_bytes(), frame.len());
    let bufs = Buffers {
        frame: &mut frame,
        tx: &mut tx,
        input: &mut input,
        workspace: &mut workspace,
        logits: &mut logits,
        internal: &mut internal,
    };
    let mut server = Server::new(&model, ready, bufs, OnShutdown::Stop);
    port.set_timeout(Duration::from_millis(50)).unwrap();
    let start = Instant::now();
    let mut buf = [0u8; 512];
    while start.elapsed() < Duration::from_secs(60) && !stop.load(Ordering::Relaxed) {
        let n = match port.read(&mut buf) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => continue,
            // No slave end open yet (EIO on Linux): wait for the host to open it.
            Err(_) => {
                std::thread::sleep(Duration::from_millis(20));
                continue;
            }
        };
        for &b in &buf[..n] {
            match server.push(b) {
                Step::Idle => {}
                Step::Shutdown => return,
                Step::Send { frame, .. } => {
                    port.write_all(frame).unwrap();
                    port.flush().unwrap();
                }
            }
        }
    }
}

#[test]
fn remote_streams_over_a_pseudo_terminal_bit_identically() {
    let (master, slave) = serialport::TTYPort::pair().expect("a pseudo-terminal pair");
    let name = slave.name().expect("the slave end has a device path");
    assert!(name.starts_with("/dev/"), "{name}");
    // The host opens the slave end by path, as it would open a board's port.
    drop(slave);
    let stop = Arc::new(AtomicBool::new(false));
    let dev = {
        let stop = Arc::clone(&stop);
        std::thread::spawn(move || device(master, &stop))
    };
    let cmd = lifted::device::remote::RemoteArgs::augment_args(Command::new("remote"));
    let m = cmd
        .try_get_matches_from([
            "remote",
            "--port",
            &name,
            "--model",
            DEMO,
            "--limit",
            "25",
            "--timeout",
            "20",
        ])
        .unwrap();
    let args = lifted::device::remote::RemoteArgs::from_arg_matches(&m).unwrap();
    let report = lifted::device::remote::run(&args);
    stop.store(true, Ordering::Relaxed);
    dev.join().unwrap();
    let report = report.expect("the session over the pty succeeds");
    assert_eq!(report.port, name);
    assert_eq!(report.model, "64-32-10");
    assert_eq!(report.inputs, 25);
    assert_eq!(report.answered, 25);
    assert_eq!(report.mismatches, 0);
}

#[test]
fn a_missing_serial_port_is_a_clear_error() {
    let e = lifted::device::remote::Link::open(
        "/dev/lifted-no-such-port",
        115_200,
        Duration::from_secs(1),
    )
    .unwrap_err();
    let e = format!("{e:#}");
    assert!(
        e.contains("opening serial port /dev/lifted-no-such-port at 115200 baud"),
        "{e}"
    );
}
