//! [`ModelView`]: a checked, zero-copy view of a model blob.

use crate::config::{Activation, Family, Init, Schedule, MAX_LAYERS, MAX_SWEEPS};
use crate::error::Error;
use crate::format::{
    header_padding, Header, LayerSpec, TensorLayout, CRC32, FORMAT_VERSION, MAGIC, PREFIX_LEN,
};

/// A byte buffer aligned to 4 bytes, for embedding a blob with `include_bytes!`.
///
/// ```
/// use lifted_core::Aligned;
/// static BLOB: &Aligned<[u8]> = &Aligned([0u8; 8]);
/// assert_eq!(BLOB.0.as_ptr() as usize % 4, 0);
/// ```
#[repr(C, align(4))]
pub struct Aligned<T: ?Sized>(pub T);

/// A validated, zero-copy view of a model blob.
///
/// Weights are read in place from the blob as `&[f32]`; nothing is copied into RAM.
#[derive(Debug, Clone)]
pub struct ModelView<'a> {
    header: Header<'a>,
    tensors: &'a [f32],
    layout: TensorLayout,
    // Derived once by `new_checked`, so that the certificate's accessors are plain loads.
    pairs_l2: &'a [f32],
    pairs_inf: &'a [f32],
    pairs_z1: &'a [f32],
    crc: u32,
}

fn u16_at(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}

fn u32_at(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}

fn sat_u32(n: usize) -> u32 {
    u32::try_from(n).unwrap_or(u32::MAX)
}

/// Σ|v| in f32 with every addition rounded down: a lower bound of the exact sum.
fn abs_sum_down<'v>(v: impl IntoIterator<Item = &'v f32>) -> f32 {
    v.into_iter()
        .fold(0.0f32, |s, x| (s + x.abs()).next_down().max(0.0))
}

fn finite_nonneg(v: f32) -> bool {
    v.is_finite() && v >= 0.0
}

impl<'a> ModelView<'a> {
    /// Validates a blob and returns a view of it.
    ///
    /// Success guarantees, for the lifetime of the view:
    /// - the blob is exactly one version-[`FORMAT_VERSION`] model whose CRC-32 matches;
    /// - it starts on a 4-byte boundary, so every tensor is read in place as `&[f32]`;
    /// - 1 ≤ L ≤ [`MAX_LAYERS`], every width and the input dimension are ≥ 1, the class count is
    ///   ≥ 2, and all tensor sizes fit in memory: every accessor returns a slice of the documented
    ///   length and none can panic;
    /// - every weight, bias and configuration value is finite; the input range is finite and
    ///   non-empty; γ_k > 0, ρ_k ≥ 0, η_k ∈ (0, 1]; clipped-ReLU bounds are > 0; the output
    ///   activation is the identity; K ≤ [`MAX_SWEEPS`];
    /// - if the certificate constants are marked valid, every one of them is finite and ≥ 0 and the
    ///   radius limits are > 0.
    ///
    /// It does not (and cannot) re-derive the spectral-norm constants: they are trusted as written by
    /// the exporter, whose integrity the CRC protects.
    ///
    /// # Errors
    /// Checked in this order, so that a damaged blob is reported as damaged: the magic
    /// ([`Error::BadMagic`]), the minimal length ([`Error::Truncated`]), then the CRC-32 over
    /// everything before the last four bytes ([`Error::BadChecksum`]; [`Error::TrailingBytes`]
    /// when an intact model with its own valid CRC is followed by extra bytes), and only then the
    /// version, the header and the parameters. A truncated blob is therefore a checksum error.
    pub fn new_checked(blob: &'a [u8]) -> Result<Self, Error> {
        let got = sat_u32(blob.len());
        if blob.get(0..4).is_some_and(|m| m != &MAGIC[..]) {
            return Err(Error::BadMagic);
        }
        if blob.len() < PREFIX_LEN + 4 {
            return Err(Error::Truncated {
                needed: sat_u32(PREFIX_LEN + 4),
                got,
            });
        }
        // The CRC comes first, right after the magic: any damaged byte (in the header as well)
        // is reported as a checksum error rather than as whatever field it happens to hit.
        let (content, crc_bytes) = blob.split_at(blob.len() - 4);
        let stored = u32_at(crc_bytes, 0).ok_or(Error::MalformedHeader)?;
        let computed = CRC32.checksum(content);
        if stored != computed {
            return Err(
                Self::checksum_failure(blob).unwrap_or(Error::BadChecksum { stored, computed })
            );
        }
        let version = u16_at(blob, 4).ok_or(Error::MalformedHeader)?;
        if version != FORMAT_VERSION {
            return Err(Error::UnsupportedVersion {
                found: version,
                expected: FORMAT_VERSION,
            });
        }
        if u16_at(blob, 6) != Some(0) {
            return Err(Error::MalformedHeader);
        }
        let header_len = u32_at(blob, 8).ok_or(Error::MalformedHeader)? as usize;
        let tensors_at = PREFIX_LEN
            .checked_add(header_len)
            .and_then(|n| n.checked_add(header_padding(header_len)))
            .ok_or(Error::MalformedHeader)?;
        let min_len = tensors_at.saturating_add(4);
        if blob.len() < min_len {
            return Err(Error::Truncated {
                needed: sat_u32(min_len),
                got,
            });
        }
        let header_bytes = content
            .get(PREFIX_LEN..PREFIX_LEN + header_len)
            .ok_or(Error::MalformedHeader)?;
        let header: Header<'a> = match postcard::take_from_bytes(header_bytes) {
            Ok((h, [])) => h,
            _ => return Err(Error::MalformedHeader),
        };
        let widths = Self::widths_of(&header)?;
        let layout = TensorLayout::new(header.input_dim as usize, &widths[..header.layers.len()])
            .ok_or(Error::InconsistentDims)?;
        let needed = layout
            .total
            .checked_mul(4)
            .and_then(|n| n.checked_add(tensors_at + 4))
            .ok_or(Error::InconsistentDims)?;
        if blob.len() < needed {
            return Err(Error::Truncated {
                needed: sat_u32(needed),
                got,
            });
        }
        if blob.len() > needed {
            return Err(Error::TrailingBytes);
        }
        let tensor_bytes = content.get(tensors_at..).ok_or(Error::MalformedHeader)?;
        let tensors: &'a [f32] =
            bytemuck::try_cast_slice(tensor_bytes).map_err(|_| Error::Misaligned)?;
        if cfg!(target_endian = "big") {
            return Err(Error::Misaligned);
        }
        let mut view = ModelView {
            header,
            tensors,
            layout,
            pairs_l2: &[],
            pairs_inf: &[],
            pairs_z1: &[],
            crc: stored,
        };
        // The derived fields are filled in place (computing them before the move of `header`
        // would keep a second copy of the header on the stack).
        let pair = |at: usize| {
            tensors
                .get(at..at.saturating_add(layout.pair_count))
                .unwrap_or(&[])
        };
        view.pairs_l2 = pair(layout.pairs_l2);
        view.pairs_inf = pair(layout.pairs_inf);
        // The first internal table exists only for L ≥ 2 (otherwise the range is past the end).
        view.pairs_z1 = pair(layout.pairs_internal);

        view.check_config()?;
        view.check_params()?;
        Ok(view)
    }

    /// The diagnosis of a blob whose trailing CRC does not match, when a better one than
    /// [`Error::BadChecksum`] is certain: a complete, intact model followed by extra bytes (its own
    /// CRC, at the length its header gives, matches) is [`Error::TrailingBytes`]. Anything else is
    /// `None`, since no field of an unverified blob can be trusted.
    fn checksum_failure(blob: &[u8]) -> Option<Error> {
        let header_len = u32_at(blob, 8)? as usize;
        let tensors_at = PREFIX_LEN
            .checked_add(header_len)?
            .checked_add(header_padding(header_len))?;
        let header: Header<'_> =
            match postcard::take_from_bytes(blob.get(PREFIX_LEN..PREFIX_LEN + header_len)?) {
                Ok((h, [])) => h,
                _ => return None,
            };
        let widths = Self::widths_of(&header).ok()?;
        let layout = TensorLayout::new(header.input_dim as usize, &widths[..header.layers.len()])?;
        let end = layout.total.checked_mul(4)?.checked_add(tensors_at)?;
        if end.checked_add(4)? >= blob.len() {
            return None;
        }
        let stored = u32_at(blob, end)?;
        (stored == CRC32.checksum(blob.get(..end)?)).then_some(Error::TrailingBytes)
    }

    fn widths_of(header: &Header<'_>) -> Result<[usize; MAX_LAYERS], Error> {
        let mut widths = [0usize; MAX_LAYERS];
        if header.layers.is_empty() || header.input_dim == 0 {
            return Err(Error::InconsistentDims);
        }
        for (w, l) in widths.iter_mut().zip(header.layers.iter()) {
            if l.width == 0 {
                return Err(Error::InconsistentDims);
            }
            *w = l.width as usize;
        }
        let classes = header.layers.last().map(|l| l.width).unwrap_or(0);
        if classes < 2 || classes > u32::from(u16::MAX) {
            return Err(Error::InconsistentDims);
        }
        Ok(widths)
    }

    fn check_config(&self) -> Result<(), Error> {
        let h = &self.header;
        if h.sweeps > MAX_SWEEPS {
            return Err(Error::InvalidConfig);
        }
        if !(h.input_min.is_finite() && h.input_max.is_finite()) {
            return Err(Error::NonFiniteParameter);
        }
        if !(h.input_min <= h.input_max) {
            return Err(Error::InvalidConfig);
        }
        let last = h.layers.len() - 1;
        for (k, l) in h.layers.iter().enumerate() {
            if !(l.gamma.is_finite() && l.rho.is_finite() && l.step.is_finite()) {
                return Err(Error::NonFiniteParameter);
            }
            if !(l.gamma > 0.0 && l.rho >= 0.0 && l.step > 0.0 && l.step <= 1.0) {
                return Err(Error::InvalidConfig);
            }
            match l.activation {
                Activation::Identity => {}
                Activation::Relu if k != last => {}
                Activation::ClippedRelu { bound } if k != last => {
                    if !bound.is_finite() {
                        return Err(Error::NonFiniteParameter);
                    }
                    if !(bound > 0.0) {
                        return Err(Error::InvalidConfig);
                    }
                }
                _ => return Err(Error::InvalidConfig),
            }
        }
        Ok(())
    }

    fn check_params(&self) -> Result<(), Error> {
        if !self.tensors.iter().all(|v| v.is_finite()) {
            // Pair tables are certificate constants: report them as such.
            let params_ok = self
                .tensors
                .get(..self.layout.pairs_l2)
                .is_some_and(|p| p.iter().all(|v| v.is_finite()));
            return Err(if params_ok {
                Error::BadConstant
            } else {
                Error::NonFiniteParameter
            });
        }
        let c = &self.header.cert;
        if c.valid {
            let pairs_ok = self
                .tensors
                .get(self.layout.pairs_l2..)
                .is_some_and(|p| p.iter().all(|&v| v >= 0.0));
            let layers_ok = self.header.layers.iter().all(|l| {
                let b = &l.bounds;
                // ⌈√n_k⌉ is an integer ≤ 2¹², so its square is exact in f32: checked exactly.
                let s = b.sqrt_width;
                let root_ok = (1.0..=4096.0).contains(&s)
                    && (s as u32) as f32 == s
                    && s * s >= l.width as f32;
                root_ok
                    && [b.w_l2, b.w_inf, b.w_one, b.b_inf, b.lip_l2, b.lip_inf]
                        .into_iter()
                        .chain(b.hidden_l2)
                        .all(finite_nonneg)
            });
            let eps_ok = [c.eps_l2_max, c.eps_inf_max, c.eps_internal_max]
                .into_iter()
                .all(|e| e.is_finite() && e > 0.0);
            if !(pairs_ok && layers_ok && eps_ok && finite_nonneg(c.contraction)) {
                return Err(Error::BadConstant);
            }
            // The cheap constants are checked against lower bounds of their true values (sums
            // rounded down): a blob that understates them is refused instead of certifying
            // unsoundly.
            for k in 1..=self.layers() {
                let Some(b) = self.layer(k).map(|l| l.bounds) else {
                    continue;
                };
                let (w, bias) = (self.weights(k - 1), self.bias(k - 1));
                let cols = self.width(k - 1);
                let row_max = w
                    .chunks_exact(cols)
                    .map(abs_sum_down)
                    .fold(0.0f32, f32::max);
                let col_max = (0..cols)
                    .map(|j| abs_sum_down(w.iter().skip(j).step_by(cols)))
                    .fold(0.0f32, f32::max);
                let b_max = bias.iter().fold(0.0f32, |m, v| m.max(v.abs()));
                if b.w_inf < row_max || b.w_one < col_max || b.b_inf < b_max {
                    return Err(Error::BadConstant);
                }
            }
        }
        Ok(())
    }

    /// The CRC-32 stored in the blob's last four bytes (checked by [`ModelView::new_checked`]):
    /// the model's identity for a device handshake or a sidecar file.
    pub fn crc(&self) -> u32 {
        self.crc
    }

    /// The decoded header.
    pub fn header(&self) -> &Header<'a> {
        &self.header
    }

    /// Number of weight layers L.
    pub fn layers(&self) -> usize {
        self.header.layers.len()
    }

    /// Input dimension n₀.
    pub fn input_dim(&self) -> usize {
        self.header.input_dim as usize
    }

    /// Number of classes C = n_L.
    pub fn classes(&self) -> usize {
        self.width(self.layers())
    }

    /// Width n_k of block k (k = 0 is the input); 0 for k > L.
    pub fn width(&self, k: usize) -> usize {
        if k == 0 {
            self.input_dim()
        } else {
            self.header
                .layers
                .get(k - 1)
                .map_or(0, |l| l.width as usize)
        }
    }

    /// The spec of layer k = 1 … L (block z_k). `None` outside that range.
    pub fn layer(&self, k: usize) -> Option<&LayerSpec> {
        k.checked_sub(1).and_then(|i| self.header.layers.get(i))
    }

    /// Potential family.
    pub fn family(&self) -> Family {
        self.header.family
    }

    /// State initialisation.
    pub fn init(&self) -> Init {
        self.header.init
    }

    /// Sweep schedule.
    pub fn schedule(&self) -> Schedule {
        self.header.schedule
    }

    /// Number of sweeps K.
    pub fn sweeps(&self) -> usize {
        usize::from(self.header.sweeps)
    }

    /// `W_k` (k = 0 … L−1), row-major n_{k+1} × n_k; empty for k ≥ L.
    pub fn weights(&self, k: usize) -> &'a [f32] {
        let (Some(&at), n) = (
            self.layout.weights.get(k),
            self.width(k + 1) * self.width(k),
        ) else {
            return &[];
        };
        if k >= self.layers() {
            return &[];
        }
        self.tensors.get(at..at + n).unwrap_or(&[])
    }

    /// `b_k` (k = 0 … L−1) of length n_{k+1}; empty for k ≥ L.
    pub fn bias(&self, k: usize) -> &'a [f32] {
        let (Some(&at), n) = (self.layout.biases.get(k), self.width(k + 1)) else {
            return &[];
        };
        if k >= self.layers() {
            return &[];
        }
        self.tensors.get(at..at + n).unwrap_or(&[])
    }

    /// Per-class-pair ℓ2 input constants K_ij (upper triangle, see [`crate::format::pair_index`]).
    pub fn pairs_l2(&self) -> &'a [f32] {
        self.pairs_l2
    }

    /// Per-class-pair ℓ∞ input constants.
    pub fn pairs_inf(&self) -> &'a [f32] {
        self.pairs_inf
    }

    /// Per-class-pair ℓ2 constants for perturbing hidden block k (1 ≤ k ≤ L−1); empty otherwise.
    pub fn pairs_internal(&self, k: usize) -> &'a [f32] {
        let l = &self.layout;
        if k == 0 || k >= self.layers() {
            return &[];
        }
        if k == 1 {
            return self.pairs_z1;
        }
        let at = l.pairs_internal + (k - 1) * l.pair_count;
        self.tensors.get(at..at + l.pair_count).unwrap_or(&[])
    }

    /// The tensor section's layout.
    pub fn layout(&self) -> &TensorLayout {
        &self.layout
    }

    /// Bytes of flash the parameters take (weights and biases).
    pub fn parameter_bytes(&self) -> usize {
        self.layout.pairs_l2 * 4
    }

    /// Whether the deployed map is exactly the feed-forward pass (bit for bit in f32), decided by
    /// [`crate::schedule::deploys_forward_pass`] from the stored update list. [`crate::infer()`]
    /// then runs the forward updates only, and the certificate adds the internal radii.
    pub fn is_forward_deployment(&self) -> bool {
        crate::schedule::deploys_forward_pass(
            self.layers(),
            self.family(),
            self.init(),
            self.sweeps(),
            self.schedule(),
        )
    }

    /// Class name `c`, if the model carries names.
    pub fn class_name(&self, c: usize) -> Option<&'a str> {
        if self.header.class_names.is_empty() {
            return None;
        }
        self.header.class_names.split('\n').nth(c)
    }
}
