//! Sound f64 bounds for the certificate constants (host side, at export time).
