//! Model format: round trip, validation errors, the committed fixtures of every version.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::{blob, params, Config, Rng};
use lifted_core::bounds::Limits;
use lifted_core::format::CRC32;
use lifted_core::write::Blob;
use lifted_core::{Error, Family, Init, ModelView};

fn sample() -> Blob {
    let mut rng = Rng(7);
    blob(
        &params(
            &mut rng,
            &Config::small(Family::FenchelYoung, Init::Forward, 2),
        ),
        &Limits::default(),
    )
}

/// Rewrites the trailing CRC so that a deliberately edited blob passes the checksum.
fn reseal(bytes: &mut [u8]) {
    let n = bytes.len() - 4;
    let crc = CRC32.checksum(&bytes[..n]);
    bytes[n..].copy_from_slice(&crc.to_le_bytes());
}

#[test]
fn round_trip_preserves_every_parameter_bit() {
    let mut rng = Rng(11);
    let p = params(&mut rng, &Config::small(Family::Hopfield, Init::Zero, 3));
    let b = blob(&p, &Limits::default());
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    assert_eq!(m.layers(), 3);
    assert_eq!(m.input_dim(), 4);
    assert_eq!(m.classes(), 3);
    assert_eq!(m.sweeps(), 3);
    assert_eq!(m.family(), Family::Hopfield);
    for (k, l) in p.layers.iter().enumerate() {
        assert_eq!(common::bits(m.weights(k)), common::bits(&l.weights));
        assert_eq!(common::bits(m.bias(k)), common::bits(&l.bias));
        assert_eq!(m.layer(k + 1).unwrap().step.to_bits(), l.step.to_bits());
    }
    assert!(m.weights(3).is_empty());
    assert!(m.header().cert.valid);
    assert_eq!(m.pairs_l2().len(), 3);
}

#[test]
fn higher_version_is_refused() {
    let mut bytes = sample().as_bytes().to_vec();
    let next = lifted_core::FORMAT_VERSION + 1;
    bytes[4..6].copy_from_slice(&next.to_le_bytes());
    reseal(&mut bytes);
    let b = Blob::from_bytes(&bytes);
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::UnsupportedVersion {
            found: next,
            expected: lifted_core::FORMAT_VERSION
        }
    );
}

#[test]
fn every_truncation_is_refused_as_truncated_or_corrupt() {
    let full = sample().as_bytes().to_vec();
    for n in 0..full.len() {
        let b = Blob::from_bytes(&full[..n]);
        let e = ModelView::new_checked(b.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::Truncated { .. } | Error::BadChecksum { .. } | Error::MalformedHeader
            ),
            "length {n}: {e:?}"
        );
    }
}

#[test]
fn flipped_bit_is_a_checksum_error() {
    let full = sample().as_bytes().to_vec();
    let header_len = u32::from_le_bytes(full[8..12].try_into().unwrap()) as usize;
    // A bit in the weights, one in the header, one in the CRC itself.
    for at in [full.len() - 40, 12 + header_len / 2, full.len() - 1] {
        let mut bytes = full.clone();
        bytes[at] ^= 0x10;
        let b = Blob::from_bytes(&bytes);
        let e = ModelView::new_checked(b.as_bytes()).unwrap_err();
        assert!(
            matches!(
                e,
                Error::BadChecksum { .. }
                    | Error::MalformedHeader
                    | Error::Truncated { .. }
                    | Error::TrailingBytes
                    | Error::InconsistentDims
            ),
            "byte {at}: {e:?}"
        );
    }
}

/// Every single bit flip in the prefix and header of the committed fixture is reported as
/// damage (a checksum error, or bad magic in the magic bytes), never as another diagnosis
/// such as an unsupported version or a malformed header.
#[test]
fn every_header_bit_flip_of_the_fixture_is_a_checksum_error() {
    let path =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures/v2-small.lfm");
    let full = std::fs::read(&path).expect("tests/fixtures/v2-small.lfm");
    ModelView::new_checked(Blob::from_bytes(&full).as_bytes()).expect("the fixture loads");
    let header_len = u32::from_le_bytes(full[8..12].try_into().unwrap()) as usize;
    let header_end = lifted_core::format::PREFIX_LEN + header_len;
    let mut flips = 0;
    for at in 0..header_end {
        for bit in 0..8 {
            let mut bytes = full.clone();
            bytes[at] ^= 1 << bit;
            let e = ModelView::new_checked(Blob::from_bytes(&bytes).as_bytes()).unwrap_err();
            if at < 4 {
                assert_eq!(e, Error::BadMagic, "byte {at} bit {bit}");
            } else {
                assert!(
                    matches!(e, Error::BadChecksum { .. }),
                    "byte {at} bit {bit}: {e:?} ({e})"
                );
            }
            flips += 1;
        }
    }
    assert!(
        flips > 1000,
        "{flips} flips: the header is unexpectedly short"
    );
}

#[test]
fn another_version_with_a_valid_crc_is_unsupported_but_a_flipped_version_is_corrupt() {
    let full = sample().as_bytes().to_vec();
    let mut flipped = full.clone();
    flipped[4] ^= 1;
    let other = u16::from_le_bytes([flipped[4], flipped[5]]);
    assert!(matches!(
        ModelView::new_checked(Blob::from_bytes(&flipped).as_bytes()).unwrap_err(),
        Error::BadChecksum { .. }
    ));
    reseal(&mut flipped);
    assert_eq!(
        ModelView::new_checked(Blob::from_bytes(&flipped).as_bytes()).unwrap_err(),
        Error::UnsupportedVersion {
            found: other,
            expected: lifted_core::FORMAT_VERSION
        }
    );
    // A cut-off blob cannot be told apart from a damaged one: it is a checksum error.
    let cut = &full[..full.len() - 100];
    assert!(matches!(
        ModelView::new_checked(Blob::from_bytes(cut).as_bytes()).unwrap_err(),
        Error::BadChecksum { .. }
    ));
    // A short file that is not a model is not a model, whatever its length.
    assert_eq!(
        ModelView::new_checked(Blob::from_bytes(b"abcdefgh").as_bytes()).unwrap_err(),
        Error::BadMagic
    );
}

#[test]
fn bad_magic_trailing_bytes_and_misalignment() {
    let full = sample().as_bytes().to_vec();
    let mut bad = full.clone();
    bad[0] = b'X';
    assert_eq!(
        ModelView::new_checked(Blob::from_bytes(&bad).as_bytes()).unwrap_err(),
        Error::BadMagic
    );

    let mut longer = full.clone();
    longer.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(
        ModelView::new_checked(Blob::from_bytes(&longer).as_bytes()).unwrap_err(),
        Error::TrailingBytes
    );

    let mut shifted = vec![0u8];
    shifted.extend_from_slice(&full);
    let b = Blob::from_bytes(&shifted);
    assert_eq!(
        ModelView::new_checked(&b.as_bytes()[1..]).unwrap_err(),
        Error::Misaligned
    );
}

#[test]
fn non_finite_weight_is_refused() {
    let mut rng = Rng(3);
    let mut p = params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 0),
    );
    let c = lifted_core::bounds::compute(&p, &Limits::default());
    p.layers[1].weights[2] = f32::NAN;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::NonFiniteParameter
    );
    p.layers[1].weights[2] = f32::INFINITY;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::NonFiniteParameter
    );
}

#[test]
fn invalid_configurations_are_refused() {
    let mut rng = Rng(5);
    let base = params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 1),
    );
    let c = lifted_core::bounds::compute(&base, &Limits::default());
    let check = |p: &lifted_core::write::ModelParams, want: Error| {
        let b = p.to_blob(&c).unwrap();
        assert_eq!(ModelView::new_checked(b.as_bytes()).unwrap_err(), want);
    };
    let mut p = base.clone();
    p.sweeps = lifted_core::MAX_SWEEPS + 1;
    check(&p, Error::InvalidConfig);
    let mut p = base.clone();
    p.layers[2].activation = lifted_core::Activation::Relu;
    check(&p, Error::InvalidConfig);
    let mut p = base.clone();
    p.layers[0].step = 0.0;
    check(&p, Error::InvalidConfig);
    let mut p = base.clone();
    p.layers[0].gamma = -1.0;
    check(&p, Error::InvalidConfig);
    let mut p = base.clone();
    p.input_range = (1.0, 0.0);
    check(&p, Error::InvalidConfig);
    let mut p = base.clone();
    p.layers[0].activation = lifted_core::Activation::ClippedRelu { bound: f32::NAN };
    check(&p, Error::NonFiniteParameter);
}

#[test]
fn negative_constant_marked_valid_is_refused() {
    let mut rng = Rng(9);
    let p = params(
        &mut rng,
        &Config::small(Family::FenchelYoung, Init::Forward, 0),
    );
    let mut c = lifted_core::bounds::compute(&p, &Limits::default());
    c.pairs_l2[0] = -1.0;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::BadConstant
    );
    let mut c = lifted_core::bounds::compute(&p, &Limits::default());
    c.layers[1].w_inf *= 0.5;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::BadConstant,
        "understated ‖W‖_∞"
    );
    let mut c = lifted_core::bounds::compute(&p, &Limits::default());
    c.layers[0].b_inf = 0.0;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::BadConstant,
        "understated ‖b‖_∞"
    );
    let mut c = lifted_core::bounds::compute(&p, &Limits::default());
    c.cert.eps_l2_max = 0.0;
    let b = p.to_blob(&c).unwrap();
    assert_eq!(
        ModelView::new_checked(b.as_bytes()).unwrap_err(),
        Error::BadConstant
    );
}

/// Recorded outputs of a fixture blob: class, ℓ2 radius and logits bit for bit, one line per
/// input.
fn outputs(m: &ModelView<'_>, inputs: &[Vec<f32>]) -> String {
    let mut text = String::new();
    for x in inputs {
        let mut buf = vec![0.0f32; lifted_core::Workspace::required(m)];
        let mut ws = lifted_core::Workspace::new(&mut buf);
        let o = lifted_core::infer(m, x, &mut ws).unwrap();
        let c = lifted_core::certify(m, &o, lifted_core::Norm::L2);
        text.push_str(&format!(
            "class {} radius {:08x} logits",
            o.class,
            c.radius.to_bits()
        ));
        for v in o.logits {
            text.push_str(&format!(" {:08x}", v.to_bits()));
        }
        text.push('\n');
    }
    text
}

fn fixture_dir() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../tests/fixtures")
}

fn fixture_inputs() -> Vec<Vec<f32>> {
    let mut rng = Rng(2024);
    (0..8).map(|_| common::input(&mut rng, 4)).collect()
}

/// The parameters of the `small` fixtures (the same in every format version).
fn small_params() -> lifted_core::write::ModelParams {
    let mut cfg = Config::small(Family::FenchelYoung, Init::Forward, 5);
    cfg.gamma = vec![0.5, 0.25, 1.0];
    params(&mut Rng(1), &cfg)
}

/// An iterative family-B fixture (K = 5 with the top-down pass).
fn hopfield_params() -> lifted_core::write::ModelParams {
    let mut cfg = Config::small(Family::Hopfield, Init::Forward, 5);
    cfg.schedule = lifted_core::Schedule::BwdFwdTopDown;
    params(&mut Rng(3), &cfg)
}

/// Checks a committed current-version fixture: it loads and gives the recorded outputs bit for
/// bit. `BLESS=1` rewrites the recorded outputs (after a deliberate change to inference or
/// certificate); the blob itself is only ever written when missing (a new format version gets
/// a new fixture).
fn check_fixture(name: &str, make: fn() -> lifted_core::write::ModelParams) -> String {
    let blob_path = fixture_dir().join(format!("{name}.lfm"));
    let out_path = fixture_dir().join(format!("{name}.out"));
    if std::env::var_os("BLESS").is_some() && !blob_path.exists() {
        let b = blob(&make(), &Limits::default());
        std::fs::write(&blob_path, b.as_bytes()).unwrap();
    }
    let bytes = std::fs::read(&blob_path).expect("fixture blob");
    let b = Blob::from_bytes(&bytes);
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    let text = outputs(&m, &fixture_inputs());
    if std::env::var_os("BLESS").is_some() {
        std::fs::write(&out_path, &text).unwrap();
    }
    let want = std::fs::read_to_string(&out_path).expect("fixture outputs");
    assert_eq!(text, want, "{name}");
    text
}

#[test]
fn version_2_fixtures_load_and_give_recorded_outputs() {
    check_fixture("v2-small", small_params);
    let text = check_fixture("v2-hopfield", hopfield_params);
    let m_bytes = std::fs::read(fixture_dir().join("v2-hopfield.lfm")).unwrap();
    let b = Blob::from_bytes(&m_bytes);
    let m = ModelView::new_checked(b.as_bytes()).unwrap();
    assert!(!m.is_forward_deployment());
    // The iterative fixture certifies (its float error stays small through the sweeps).
    assert!(
        text.lines().any(|l| !l.contains("radius 00000000")),
        "{text}"
    );
}

/// Format version 1 (before the contraction factor was stored): refused with a message that
/// names the fix, and the migration to version 2 changed no logit. The blob is the same model
/// as `v2-small`; its recorded outputs were made by the version-1 code.
#[test]
fn version_1_fixture_is_refused_clearly_and_migrates_without_changing_logits() {
    let bytes = std::fs::read(fixture_dir().join("v1-small.lfm")).unwrap();
    let b = Blob::from_bytes(&bytes);
    let err = ModelView::new_checked(b.as_bytes()).unwrap_err();
    assert_eq!(
        err,
        Error::UnsupportedVersion {
            found: 1,
            expected: 2
        }
    );
    assert!(err.to_string().contains("re-export"), "{err}");
    // The weights of the version-1 blob are the `small_params` weights: the tensor section
    // (weights and biases, in place before the constants) appears unchanged in the new blob.
    let v2 = blob(&small_params(), &Limits::default());
    let p = small_params();
    let first = p.layers[0].weights[0].to_le_bytes();
    let find = |hay: &[u8]| hay.windows(4).position(|w| w == first);
    let tensors = |hay: &[u8], at: usize| hay[at..at + 4 * p.layers[0].weights.len()].to_vec();
    let (a, c) = (find(&bytes).unwrap(), find(v2.as_bytes()).unwrap());
    assert_eq!(tensors(&bytes, a), tensors(v2.as_bytes(), c));
    // Logits bit for bit as recorded by version 1 (the radii may change: the float-error
    // bound is tighter in version 2).
    let old = std::fs::read_to_string(fixture_dir().join("v1-small.out")).unwrap();
    let new = std::fs::read_to_string(fixture_dir().join("v2-small.out")).unwrap();
    let logits = |t: &str| -> Vec<String> {
        t.lines()
            .map(|l| {
                let (class, rest) = l.split_once(" radius ").unwrap();
                format!("{class} {}", rest.split_once(" logits").unwrap().1)
            })
            .collect()
    };
    assert_eq!(logits(&old), logits(&new));
}
