//! The option enums of the training configuration (docs/method.md §9), each with one string form used on
//! the command line, in TOML and in JSON (`FromStr` / `Display`, serde through the string).

use std::fmt;
use std::str::FromStr;

use anyhow::{anyhow, bail, ensure, Error, Result};
use lifted_core::{Activation, Family, Init, Schedule};
use serde::{Deserialize, Serialize};

/// Declares a string-backed option enum: serde goes through `String` with `FromStr`/`Display`.
macro_rules! string_serde {
    ($t:ty) => {
        impl TryFrom<String> for $t {
            type Error = Error;
            fn try_from(s: String) -> Result<Self> {
                s.parse()
            }
        }
        impl From<$t> for String {
            fn from(v: $t) -> String {
                v.to_string()
            }
        }
    };
}

/// Declares a plain keyword enum with its names.
macro_rules! keyword_enum {
    ($(#[$m:meta])* $name:ident { $($(#[$vm:meta])* $v:ident = $s:literal),+ $(,)? }) => {
        $(#[$m])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
        #[serde(try_from = "String", into = "String")]
        pub enum $name { $($(#[$vm])* $v),+ }
        impl $name {
            /// Every value, in documentation order.
            pub const ALL: &'static [Self] = &[$(Self::$v),+];
            /// The name used in flags and files.
            pub fn name(self) -> &'static str { match self { $(Self::$v => $s),+ } }
        }
        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result { f.write_str(self.name()) }
        }
        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self> {
                Self::ALL.iter().copied().find(|v| v.name() == s).ok_or_else(|| {
                    let names: Vec<_> = Self::ALL.iter().map(|v| v.name()).collect();
                    anyhow!("unknown {} `{s}` — use one of: {}", stringify!($name), names.join(", "))
                })
            }
        }
        string_serde!($name);
    };
}

keyword_enum!(
    /// The training objective (docs/method.md §5; names as in §9).
    Objective {
        /// Back-propagation on the loss of the forward pass (§5.1).
        Bp = "bp",
        /// Input adversarial training (§5.2): one η-step, or PGD with `attack`.
        InputAt = "input-at",
        /// Relaxed optimal value reformulation, a nudged phase (§5.3).
        Rovr = "rovr",
        /// Adversarial ROVR (§5.4).
        Arovr = "arovr",
        /// The α-mixed objective J_{α,β} (§5.5).
        Mixed = "mixed",
        /// The layer-distance objective J^d_{γ,β} (§5.7).
        Relaxed = "relaxed",
        /// Targeted AROVR^g (§5.8).
        Targeted = "targeted",
    }
);

impl Objective {
    /// True for the objectives that run K-sweep phases (everything but `bp` and `input-at`).
    pub fn is_lifted(self) -> bool {
        !matches!(self, Objective::Bp | Objective::InputAt)
    }
}

keyword_enum!(
    /// The network potential (docs/method.md §3).
    Potential {
        /// Family A, the Fenchel–Young divergence; the free state is the forward pass.
        FenchelYoung = "fenchel-young",
        /// Family B, the layered Hopfield energy with top-down feedback.
        Hopfield = "hopfield",
    }
);

impl Potential {
    /// The model-format family.
    pub fn family(self) -> Family {
        match self {
            Potential::FenchelYoung => Family::FenchelYoung,
            Potential::Hopfield => Family::Hopfield,
        }
    }
}

keyword_enum!(
    /// The target loss ℓ (docs/method.md §3.4).
    LossKind {
        /// ½‖z_L − y‖² on one-hot targets (closed-form output updates).
        Squared = "squared",
        /// Softmax cross-entropy (lifted objectives: fixed-point output updates, see `phases`).
        CrossEntropy = "cross-entropy",
    }
);

keyword_enum!(
    /// State initialisation before the sweeps (docs/method.md §4.4).
    InitKind {
        /// Start from the feed-forward pass.
        Forward = "forward",
        /// Start from zero.
        Zero = "zero",
    }
);

impl InitKind {
    /// The model-format value.
    pub fn core(self) -> Init {
        match self {
            InitKind::Forward => Init::Forward,
            InitKind::Zero => Init::Zero,
        }
    }
}

keyword_enum!(
    /// The sweep schedule (docs/method.md §4.4).
    ScheduleKind {
        /// Backward over the hidden blocks, forward, then the output.
        BwdFwd = "bwd-fwd",
        /// As `bwd-fwd`, plus one top-down pass at the end.
        BwdFwdTopdown = "bwd-fwd+topdown",
    }
);

impl ScheduleKind {
    /// The model-format value.
    pub fn core(self) -> Schedule {
        match self {
            ScheduleKind::BwdFwd => Schedule::BwdFwd,
            ScheduleKind::BwdFwdTopdown => Schedule::BwdFwdTopDown,
        }
    }
}

keyword_enum!(
    /// Where the relaxed objective's adversary injects its perturbation (docs/method.md §5.7).
    RelaxedDistance {
        /// z_k = f_k(a_k) + δ_k (the default d_γ).
        PostActivation = "post-activation",
        /// z_k = f_k(a_k + δ_k) (the lower end of the sandwich).
        PreActivation = "pre-activation",
    }
);

keyword_enum!(
    /// The input attack of `input-at` (docs/method.md §5.2).
    Attack {
        /// One un-normalised gradient step x + η∇ℓ.
        Step = "step",
        /// PGD in an ℓ2 ball (normalised steps).
        PgdL2 = "pgd-l2",
        /// PGD in an ℓ∞ ball (sign steps).
        PgdLinf = "pgd-linf",
    }
);

keyword_enum!(
    /// The learning-rate schedule over the update steps.
    LrSchedule {
        /// `lr` throughout (docs/method.md §7.3).
        Constant = "constant",
        /// lr·½(1 + cos(π t/T)) at update step t of T = epochs × minibatches (a resumed run with
        /// more `--epochs` continues on the stretched curve).
        Cosine = "cosine",
    }
);

keyword_enum!(
    /// How the Lipschitz margin enters the cross-entropy.
    MarginLoss {
        /// Every non-true logit j is raised by ε·K_yj and the loss is taken at the shifted logits
        /// (Tsuzuku et al. 2018).
        Shift = "shift",
        /// GloRo's ⊥ class (Leino et al. 2021): the logits get one more entry,
        /// z_⊥ = max_{j≠y}(z_j + ε·K_yj), and the cross-entropy of the true class is taken over
        /// the C + 1 entries — only the closest competitor carries the margin.
        Bottom = "bottom",
    }
);

impl LrSchedule {
    /// The factor on `lr` at update step `t` (from 0) of `total`.
    pub fn factor(self, t: usize, total: usize) -> f64 {
        match self {
            LrSchedule::Constant => 1.0,
            LrSchedule::Cosine => {
                let x = t.min(total) as f64 / total.max(1) as f64;
                0.5 * (1.0 + (std::f64::consts::PI * x).cos())
            }
        }
    }
}

keyword_enum!(
    /// γ meta-learning (docs/method.md §5.10).
    MetaGamma {
        /// γ stays fixed.
        Off = "off",
        /// γ_k descend the hyper-gradient in log space with Σ_k log γ_k fixed.
        Constrained = "constrained",
        /// The hidden γ_k follow a finite-difference hyper-gradient of the validation loss after
        /// one look-ahead step (docs/method.md §5.10).
        Validation = "validation",
    }
);

/// Hidden-layer activation (docs/method.md §2): `relu` or `clipped-relu:H`.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum HiddenActivation {
    /// max(a, 0).
    Relu,
    /// min(max(a, 0), h).
    ClippedRelu(f32),
}

impl HiddenActivation {
    /// The model-format activation.
    pub fn core(self) -> Activation {
        match self {
            HiddenActivation::Relu => Activation::Relu,
            HiddenActivation::ClippedRelu(bound) => Activation::ClippedRelu { bound },
        }
    }
}

impl fmt::Display for HiddenActivation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HiddenActivation::Relu => f.write_str("relu"),
            HiddenActivation::ClippedRelu(h) => write!(f, "clipped-relu:{h}"),
        }
    }
}

impl FromStr for HiddenActivation {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "relu" => Ok(HiddenActivation::Relu),
            Some(("clipped-relu", h)) => {
                let h: f32 = h
                    .parse()
                    .map_err(|_| anyhow!("clipped-relu bound `{h}` is not a number"))?;
                ensure!(
                    h.is_finite() && h > 0.0,
                    "clipped-relu bound must be finite and > 0, got {h}"
                );
                Ok(HiddenActivation::ClippedRelu(h))
            }
            _ => {
                bail!("unknown activation `{s}` — use relu or clipped-relu:H (e.g. clipped-relu:1)")
            }
        }
    }
}
string_serde!(HiddenActivation);

/// How the family-A damping L_k (step η_k = 1/(1 + L_k)) is chosen (docs/method.md §4.2).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Damping {
    /// `sound-gram:STEPS`: L_k = ρ_k·σ̄_k² with σ̄_k a sound Gram-iteration upper bound (default 6).
    SoundGram(u32),
    /// `power:ITERS:FACTOR`: L_k = ρ_k·(FACTOR·σ_k)² with σ_k from power iteration (may undershoot).
    Power(u32, f64),
    /// `dp-formula`: the predecessor's L_k = max(0, σ_k² − 1)/2·|1 − 2α|, σ_k from 3 power steps.
    DpFormula,
}

impl fmt::Display for Damping {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Damping::SoundGram(s) => write!(f, "sound-gram:{s}"),
            Damping::Power(i, k) => write!(f, "power:{i}:{k}"),
            Damping::DpFormula => f.write_str("dp-formula"),
        }
    }
}

impl FromStr for Damping {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let parts: Vec<&str> = s.split(':').collect();
        let num = |v: &str| {
            v.parse::<u32>()
                .map_err(|_| anyhow!("damping `{s}`: `{v}` is not a count"))
        };
        match parts.as_slice() {
            ["sound-gram"] => Ok(Damping::SoundGram(6)),
            ["sound-gram", n] => Ok(Damping::SoundGram(num(n)?)),
            ["power"] => Ok(Damping::Power(20, 1.0)),
            ["power", n] => Ok(Damping::Power(num(n)?, 1.0)),
            ["power", n, k] => {
                let k: f64 = k.parse().map_err(|_| anyhow!("damping `{s}`: factor `{k}` is not a number"))?;
                ensure!(k.is_finite() && k > 0.0, "damping `{s}`: the factor must be > 0");
                Ok(Damping::Power(num(n)?, k))
            }
            ["dp-formula"] => Ok(Damping::DpFormula),
            _ => bail!("unknown damping `{s}` — use sound-gram[:STEPS], power[:ITERS[:FACTOR]] or dp-formula"),
        }
    }
}
string_serde!(Damping);

/// Which epoch `lifted train` keeps as its best (`best.params.json`); always measured on the
/// validation split, never the test split.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Selection {
    /// `val-accuracy`: the highest validation accuracy (ties: the earlier epoch).
    #[default]
    ValAccuracy,
    /// `val-certified-l2:EPS`: the highest share of validation samples that the exported model
    /// (sound constants, default limits) classifies correctly and certifies at ℓ2 radius EPS.
    ValCertifiedL2(f32),
}

impl fmt::Display for Selection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::ValAccuracy => f.write_str("val-accuracy"),
            Selection::ValCertifiedL2(e) => write!(f, "val-certified-l2:{e}"),
        }
    }
}

impl FromStr for Selection {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "val-accuracy" => Ok(Selection::ValAccuracy),
            Some(("val-certified-l2", e)) => {
                let eps: f32 = e
                    .parse()
                    .map_err(|_| anyhow!("selection `{s}`: `{e}` is not a radius"))?;
                ensure!(
                    eps.is_finite() && eps > 0.0,
                    "selection `{s}`: the radius must be finite and > 0"
                );
                Ok(Selection::ValCertifiedL2(eps))
            }
            _ => bail!("unknown selection `{s}` — use val-accuracy or val-certified-l2:EPS"),
        }
    }
}
string_serde!(Selection);

/// The target class g of the targeted objective (docs/method.md §5.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Target {
    /// argmax_{c≠t} of the free logits.
    RunnerUp,
    /// Uniform over c ≠ t, drawn from the training RNG.
    Random,
    /// `fixed:C`: class C (samples labelled C use their runner-up instead).
    Fixed(u8),
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Target::RunnerUp => f.write_str("runner-up"),
            Target::Random => f.write_str("random"),
            Target::Fixed(c) => write!(f, "fixed:{c}"),
        }
    }
}

impl FromStr for Target {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.split_once(':') {
            None if s == "runner-up" => Ok(Target::RunnerUp),
            None if s == "random" => Ok(Target::Random),
            Some(("fixed", c)) => {
                Ok(Target::Fixed(c.parse().map_err(|_| {
                    anyhow!("target `{s}`: `{c}` is not a class index")
                })?))
            }
            _ => bail!("unknown target `{s}` — use runner-up, random or fixed:C"),
        }
    }
}
string_serde!(Target);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_forms_round_trip() {
        for o in Objective::ALL {
            assert_eq!(o.name().parse::<Objective>().unwrap(), *o);
        }
        for s in ["relu", "clipped-relu:1.5"] {
            assert_eq!(s.parse::<HiddenActivation>().unwrap().to_string(), s);
        }
        for s in ["sound-gram:6", "power:20:1.5", "dp-formula"] {
            assert_eq!(s.parse::<Damping>().unwrap().to_string(), s);
        }
        assert_eq!(
            "sound-gram".parse::<Damping>().unwrap(),
            Damping::SoundGram(6)
        );
        for s in ["runner-up", "random", "fixed:3"] {
            assert_eq!(s.parse::<Target>().unwrap().to_string(), s);
        }
        assert_eq!(
            "bwd-fwd+topdown".parse::<ScheduleKind>().unwrap(),
            ScheduleKind::BwdFwdTopdown
        );
        let e = "arvor".parse::<Objective>().unwrap_err().to_string();
        assert!(e.contains("arovr"), "{e}");
        assert!("clipped-relu:-1".parse::<HiddenActivation>().is_err());
        assert!("power:x".parse::<Damping>().is_err());
        assert_eq!("cosine".parse::<LrSchedule>().unwrap(), LrSchedule::Cosine);
    }

    #[test]
    fn lr_schedules() {
        assert_eq!(LrSchedule::Constant.factor(7, 10), 1.0);
        assert_eq!(LrSchedule::Cosine.factor(0, 10), 1.0);
        assert!((LrSchedule::Cosine.factor(5, 10) - 0.5).abs() < 1e-15);
        assert!(LrSchedule::Cosine.factor(10, 10).abs() < 1e-15);
        let f: Vec<f64> = (0..10).map(|t| LrSchedule::Cosine.factor(t, 10)).collect();
        assert!(f.windows(2).all(|w| w[1] < w[0]), "{f:?}");
    }
}
