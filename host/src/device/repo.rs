//! Where the lifted source repository is, for the few commands that need files outside the
//! binary: the firmware sources (`lifted demo`'s firmware stage), `scripts/` (QEMU install, data
//! fetch), the default data folder and the demo model of `lifted remote`.
//!
//! An installed binary (`cargo install --path host`) runs from anywhere: it remembers the
//! checkout it was built from (a compile-time path; nothing is read from the build environment at
//! run time). If that checkout moved or is gone, set `LIFTED_REPO` to a checkout's root folder.

use std::path::{Path, PathBuf};

/// The environment variable that names the repository's root folder.
pub const REPO_ENV: &str = "LIFTED_REPO";

/// The checkout this binary was built from (its root folder, as it was at build time).
#[must_use]
pub fn built_from() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The repository root: `$LIFTED_REPO` when set (even if wrong, so that errors name it), else
/// the checkout this binary was built from.
#[must_use]
pub fn root() -> PathBuf {
    match std::env::var_os(REPO_ENV) {
        Some(r) if !r.is_empty() => PathBuf::from(r),
        _ => built_from(),
    }
}

/// The repository's `firmware/` folder.
///
/// # Errors
/// It has no `Cargo.toml`; the message says where it looked and how to point at a checkout.
pub fn firmware_dir() -> Result<PathBuf, String> {
    let root = root();
    let dir = root.join("firmware");
    if dir.join("Cargo.toml").is_file() {
        return Ok(dir);
    }
    let from = if std::env::var_os(REPO_ENV).is_some_and(|r| !r.is_empty()) {
        format!("{REPO_ENV}={}", root.display())
    } else {
        format!(
            "the checkout this binary was built from, {}, which has moved or was removed",
            root.display()
        )
    };
    Err(format!(
        "the firmware stage needs the lifted source repository, and {} has no firmware/Cargo.toml \
         (looked in {from}) — set {REPO_ENV} to the root folder of a lifted checkout, or pass \
         --no-firmware",
        dir.display()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_build_checkout_holds_the_firmware() {
        // The test runs in the checkout it was built from.
        assert!(built_from().join("firmware/Cargo.toml").is_file());
        if std::env::var_os(REPO_ENV).is_none() {
            assert_eq!(root(), built_from());
            assert_eq!(firmware_dir().unwrap(), built_from().join("firmware"));
        }
    }
}
