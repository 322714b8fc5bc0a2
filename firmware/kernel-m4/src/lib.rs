//! Hand-written `y = W x + b` for Cortex-M4F/M7 (`thumbv7em-none-eabihf`) behind lifted-core's
//! kernel hook ([`lifted_core::Kernels`], used by [`lifted_core::infer_with`]): four rows × eight
//! columns per loop iteration, eight-register `vldmia` loads, non-fused `vmla.f32`.
//!
//! Same results as `lifted_core::kernels::affine`, bit for bit: each output starts at `b_i` and
//! adds `w_ij·x_j` for j = 0, 1, 2, … in order, one `vmla.f32` per term. `vmla.f32` rounds the
//! product and then the sum (ARMv7-M ARM, VMLA: "the result is the same as VMUL followed by
//! VADD"), exactly like the portable kernel (which LLVM also compiles to `vmla.f32`). Fused
//! `vfma` would change the rounding and is never used.
//!
//! lifted-core forbids `unsafe`; the inline assembly lives in this crate instead, and the firmware
//! passes [`M4f`] to `infer_with` on `thumbv7em-none-eabihf` (`lifted_firmware::infer`). The
//! transposed product `Wᵀd` of the hidden-block updates stays the portable one. The firmware's
//! `icount` program and on-target tests check this kernel against the portable one bit for bit
//! (model layers and edge shapes); the QEMU golden runs compare whole inferences with the host.
//!
//! On other targets (the M0 and M3 have no FPU) the crate is empty.
#![no_std]
#![deny(missing_docs)]

#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
mod asm;
#[cfg(all(target_arch = "arm", target_abi = "eabihf"))]
pub use asm::{affine, M4f};
