//! Malformed `.npy` headers are refused with an error: each of these panicked in `parse_npy`
//! (a slice out of order, a slice inside a multi-byte character, an overflowing element count).
//! Found with the `npz` fuzz target (`fuzz/fuzz_targets/npz.rs`). Both `.npy` readers (the
//! sidecar's f32 one and the `--data` one of any dtype) share the header parser and are checked.

use lifted::npz::parse_npy;

fn npy(header: &str, body: &[u8]) -> Vec<u8> {
    let mut b = b"\x93NUMPY\x01\x00".to_vec();
    b.extend_from_slice(&u16::try_from(header.len()).unwrap().to_le_bytes());
    b.extend_from_slice(header.as_bytes());
    b.extend_from_slice(body);
    b
}

fn refused(header: &str, words: &str) {
    let e = parse_npy(&npy(header, &[]))
        .expect_err("a malformed header must be refused")
        .to_string();
    assert!(e.contains(words), "{header}: {e}");
    let Err(e) = lifted::data::npy::parse_npy(&npy(header, &[])) else {
        panic!("{header}: the --data reader accepted a malformed header");
    };
    assert!(e.to_string().contains(words), "{header}: {e}");
}

#[test]
fn a_shape_that_is_not_a_tuple_is_refused() {
    refused(
        "{'descr': '<f4', 'fortran_order': False, 'shape': ), }",
        "shape is not a tuple",
    );
    refused(
        "{'descr': '<f4', 'fortran_order': False, 'shape':é), }",
        "shape is not a tuple",
    );
    refused(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3, }",
        "shape is not a tuple",
    );
}

#[test]
fn a_shape_whose_size_overflows_is_refused() {
    refused(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4294967296, 4294967296), }",
        "is too large",
    );
    refused(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (4611686018427387904,), }",
        "is too large",
    );
}

#[test]
fn a_well_formed_array_still_parses() {
    let body: Vec<u8> = [1.5f32, -2.0]
        .iter()
        .flat_map(|v| v.to_le_bytes())
        .collect();
    let a = parse_npy(&npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (2,), }",
        &body,
    ))
    .unwrap();
    assert_eq!(a.shape, vec![2]);
    assert_eq!(a.data, vec![1.5, -2.0]);
    let e = parse_npy(&npy(
        "{'descr': '<f4', 'fortran_order': False, 'shape': (3,), }",
        &body,
    ))
    .unwrap_err()
    .to_string();
    assert!(e.contains("8 bytes for shape [3]"), "{e}");
}
