use super::*;

fn labels_file(labels: &[u8]) -> Vec<u8> {
    let mut v = LABELS_MAGIC.to_be_bytes().to_vec();
    v.extend_from_slice(&(labels.len() as u32).to_be_bytes());
    v.extend_from_slice(labels);
    v
}

#[test]
fn parses_small_label_file() {
    assert_eq!(parse_labels(labels_file(&[0, 9, 3]), 10), Ok(vec![0, 9, 3]));
    assert_eq!(parse_labels(labels_file(&[]), 10), Ok(vec![]));
}

#[test]
fn rejects_short_header() {
    assert_eq!(
        parse_labels(vec![0, 0, 8], 10),
        Err(IdxError::Truncated {
            expected: 4,
            got: 3
        })
    );
    assert_eq!(
        parse_images(IMAGES_MAGIC.to_be_bytes().to_vec()),
        Err(IdxError::Truncated {
            expected: 16,
            got: 4
        })
    );
}

#[test]
fn rejects_zero_and_overflowing_dims() {
    let mut v = IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [1u32, 0, 28] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    assert!(matches!(parse_images(v), Err(IdxError::BadDims { .. })));
    let mut v = IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [u32::MAX, u32::MAX, u32::MAX] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    // 2^96 bytes overflow usize on every platform.
    assert!(matches!(parse_images(v), Err(IdxError::BadDims { .. })));
}

#[test]
fn rejects_trailing_bytes() {
    let mut v = labels_file(&[1, 2]);
    v.push(0);
    assert_eq!(
        parse_labels(v, 10),
        Err(IdxError::TrailingBytes {
            expected: 10,
            got: 11
        })
    );
}

fn gz(data: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::best());
    e.write_all(data).unwrap();
    e.finish().unwrap()
}

#[test]
fn compressed_idx_is_read_up_to_its_declared_size() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-labels-idx1-ubyte.gz");
    // The header declares 3 labels; the stream holds 8 MiB more.
    let mut data = labels_file(&[1, 2, 3]);
    data.resize(data.len() + (8 << 20), 0);
    let packed = gz(&data);
    assert!(packed.len() < 64 << 10, "{}", packed.len());
    assert_eq!(
        decompress_idx(packed.clone(), LABELS_MAGIC),
        Err(IdxError::LongerThanDeclared { declared: 11 })
    );
    std::fs::write(&path, &packed).unwrap();
    let e = read_labels(&path, 10, "lifted data fetch mnist")
        .unwrap_err()
        .to_string();
    assert!(e.contains("train-labels-idx1-ubyte.gz"), "{e}");
    assert!(
        e.contains("more than the 11 bytes its header declares"),
        "{e}"
    );
    assert!(e.contains("lifted data fetch mnist"), "{e}");
    // Exactly the declared size reads fine.
    assert_eq!(
        decompress_idx(gz(&labels_file(&[1, 2, 3])), LABELS_MAGIC)
            .and_then(|b| parse_labels(b, 10)),
        Ok(vec![1, 2, 3])
    );
    // Short ones are still truncated.
    let mut short = labels_file(&[1, 2, 3]);
    short.pop();
    assert_eq!(
        decompress_idx(gz(&short), LABELS_MAGIC).and_then(|b| parse_labels(b, 10)),
        Err(IdxError::Truncated {
            expected: 11,
            got: 10
        })
    );
}

#[test]
fn a_compressed_idx_declaring_an_absurd_size_is_refused_before_reading() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("train-images-idx3-ubyte.gz");
    let mut v = IMAGES_MAGIC.to_be_bytes().to_vec();
    for d in [60_000u32, 4096, 4096] {
        v.extend_from_slice(&d.to_be_bytes());
    }
    v.extend_from_slice(&[0; 100]);
    std::fs::write(&path, gz(&v)).unwrap();
    let declared = 16 + 60_000u64 * 4096 * 4096;
    let e = read_images(&path, "lifted data fetch mnist")
        .unwrap_err()
        .to_string();
    assert!(e.contains("train-images-idx3-ubyte.gz"), "{e}");
    assert!(e.contains(&format!("declares {declared} bytes")), "{e}");
    // A wrong magic is still reported as such.
    let mut bad = v.clone();
    bad[3] = 0x01;
    assert!(matches!(
        decompress_idx(gz(&bad), IMAGES_MAGIC).and_then(parse_images),
        Err(IdxError::BadMagic { .. })
    ));
}

#[test]
fn corrupt_gzip_is_an_error() {
    assert!(matches!(
        decompress(vec![0x1f, 0x8b, 8, 0, 1, 2]),
        Err(IdxError::Gzip { .. })
    ));
    // Raw data passes through untouched.
    assert_eq!(decompress(vec![0, 0, 8, 1]), Ok(vec![0, 0, 8, 1]));
}
