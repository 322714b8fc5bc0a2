//! docs/method.md §6 oracles for the training code, on tiny networks in f64 (the same generic code that
//! trains in f32). "Exact" inner solutions are many sweeps on well-posed instances (small weights
//! or identity activations, docs/method.md §4.5).

use lifted::train::backprop::backprop;
use lifted::train::damping::{hidden_sigmas, mu_lower, steps};
use lifted::train::linalg::Mat;
use lifted::train::net::Net;
use lifted::train::objectives::{free_state, lifted_batch, lifted_values, phase_spec, LiftedSpec};
use lifted::train::phases::{self, loss_row, HiddenRule, Targets};
use lifted::train::{
    Damping, InitKind, LossKind, Objective, Potential, RelaxedDistance, TrainConfig,
};
use lifted_core::schedule::Update;
use lifted_core::Activation;

mod train_support;
use train_support::{direction, dot, moved, tiny_batch, tiny_net, WIDTHS};

const BATCH: usize = 4;

fn net(act: Activation, gain: f64, gamma: &[f64], seed: u64) -> Net<f64> {
    tiny_net(act, gain, gamma, seed)
}

fn batch(seed: u64) -> (Mat<f64>, Vec<u8>) {
    tiny_batch(BATCH, seed)
}

fn cfg(objective: Objective, beta: f64, sweeps: u16) -> TrainConfig {
    TrainConfig {
        widths: WIDTHS.to_vec(),
        objective,
        beta,
        sweeps,
        ..TrainConfig::default()
    }
}

fn step_sizes(n: &Net<f64>, c: &TrainConfig) -> Vec<f64> {
    steps(
        n,
        Damping::SoundGram(12),
        if c.objective == Objective::Mixed {
            c.alpha
        } else {
            0.0
        },
    )
}

/// Per-sample K-sweep objective values J_i.
fn values(n: &Net<f64>, c: &TrainConfig, x: &Mat<f64>, y: &[u8], g: &[u8]) -> Vec<f64> {
    lifted_values(n, &LiftedSpec::new(c), &step_sizes(n, c), x, y, g)
}

fn mean(v: &[f64]) -> f64 {
    v.iter().sum::<f64>() / v.len() as f64
}

fn clean_loss(n: &Net<f64>, x: &Mat<f64>, cls: &[u8]) -> Vec<f64> {
    let z = n.forward(x);
    (0..x.rows)
        .map(|i| loss_row(LossKind::Squared, z[3].row(i), usize::from(cls[i])))
        .collect()
}

#[test]
fn surrogates_bracket_the_clean_loss() {
    // docs/method.md §6 row 4: J_K^ROVR ≤ ℓ(z*) ≤ J_K^AROVR and J_K^g ≥ λ_u ℓ(z*; y) − λ_t ℓ(z*; g), any K.
    let mut strict = 0;
    for seed in 0..6 {
        for act in [Activation::Relu, Activation::ClippedRelu { bound: 0.7 }] {
            let n = net(act, 1.0, &[1.0; 3], seed);
            let (x, y) = batch(seed);
            let l = clean_loss(&n, &x, &y);
            let g = phases::runner_up(&n.forward(&x)[3], &y);
            let lg = clean_loss(&n, &x, &g);
            for k in [0u16, 1, 2, 5] {
                let rovr = values(&n, &cfg(Objective::Rovr, 0.5, k), &x, &y, &[]);
                let arovr = values(&n, &cfg(Objective::Arovr, 0.5, k), &x, &y, &[]);
                let tc = TrainConfig {
                    lambda_u: 1.0,
                    lambda_t: 0.5,
                    ..cfg(Objective::Targeted, 0.5, k)
                };
                let targ = values(&n, &tc, &x, &y, &g);
                for i in 0..BATCH {
                    assert!(
                        rovr[i] <= l[i] + 1e-12,
                        "ROVR {} > ℓ {} (seed {seed}, K {k})",
                        rovr[i],
                        l[i]
                    );
                    assert!(
                        arovr[i] >= l[i] - 1e-12,
                        "AROVR {} < ℓ {} (seed {seed}, K {k})",
                        arovr[i],
                        l[i]
                    );
                    assert!(
                        targ[i] >= l[i] - 0.5 * lg[i] - 1e-12,
                        "J^g {} below its value at z*",
                        targ[i]
                    );
                    if arovr[i] > l[i] + 1e-3 && rovr[i] < l[i] - 1e-3 {
                        strict += 1;
                    }
                }
            }
        }
    }
    assert!(
        strict > 100,
        "the phases barely moved: {strict} strict cases"
    );
}

/// Runs one phase of `c` with a trace and asserts that Φ never increases.
fn assert_monotone(n: &Net<f64>, c: &TrainConfig, x: &Mat<f64>, y: &[u8], g: &[u8]) -> f64 {
    let spec = LiftedSpec::new(c);
    let st = step_sizes(n, c);
    let free = free_state(n, &spec, &st, x, y);
    let tg = Targets { labels: y, g };
    let mut total_drop = 0.0;
    for term in &spec.terms {
        let ps = phase_spec(&spec, term, &st);
        let mut z = phases::start_state(n, spec.rule, &free);
        let mut prev = phases::objective(n, &ps, tg, &z, None);
        let mut trace = |u: Update, z: &Vec<Mat<f64>>| {
            let now = phases::objective(n, &ps, tg, z, None);
            for (a, b) in now.iter().zip(&prev) {
                assert!(
                    *a <= b + 1e-12 * (1.0 + b.abs()),
                    "{:?} increased Φ: {b} → {a} ({})",
                    u,
                    c.objective
                );
                total_drop += b - a;
            }
            prev = now;
        };
        phases::run(n, &ps, tg, &mut z, Some(&mut trace));
    }
    total_drop
}

#[test]
fn phase_objective_is_monotone_after_every_block_update() {
    // docs/method.md §6 row 5 (family A, sound damping), and the accept-if-lower rule of d_γ (§5.7).
    for seed in 0..4 {
        let n = net(Activation::Relu, 1.0, &[0.5, 2.0, 1.0], seed);
        let (x, y) = batch(seed);
        let g = phases::runner_up(&n.forward(&x)[3], &y);
        let mut configs = vec![
            cfg(Objective::Rovr, 0.5, 6),
            cfg(Objective::Arovr, 0.5, 6),
            TrainConfig {
                lambda_u: 1.0,
                lambda_t: 0.25,
                ..cfg(Objective::Targeted, 0.5, 6)
            },
            cfg(Objective::Mixed, 0.8, 6),
        ];
        for d in [
            RelaxedDistance::PostActivation,
            RelaxedDistance::PreActivation,
        ] {
            configs.push(TrainConfig {
                relaxed_distance: d,
                ..cfg(Objective::Relaxed, 0.5, 6)
            });
        }
        for mut c in configs {
            c.gamma = n.gamma.clone();
            let drop = assert_monotone(&n, &c, &x, &y, &g);
            assert!(drop > 1e-4, "{} did not move (drop {drop})", c.objective);
        }
    }
}

#[test]
fn family_b_energy_decreases_and_converges() {
    // docs/method.md §6 row 15: every block update lowers E; the sweeps converge when λ_min(T) > 0.
    for init in [InitKind::Zero, InitKind::Forward] {
        let n = net(Activation::Relu, 0.25, &[1.0; 3], 3);
        let mu = mu_lower(&[1.0; 3], &hidden_sigmas(&n, 12));
        assert!(mu > 0.1, "test instance not well posed: λ_min(T) = {mu}");
        let (x, y) = batch(3);
        let c = TrainConfig {
            potential: Potential::Hopfield,
            init,
            ..cfg(Objective::Arovr, 0.5, 60)
        };
        let spec = LiftedSpec::new(&c);
        let st = vec![1.0; 4];
        let energy = |z: &Vec<Mat<f64>>| -> Vec<f64> {
            let ph = phases::phi(&n, lifted_core::Family::Hopfield, HiddenRule::Potential, z);
            (0..BATCH)
                .map(|i| (0..3).map(|k| n.gamma[k] * ph[k][i]).sum())
                .collect()
        };
        let ps = lifted::train::phases::PhaseSpec {
            family: lifted_core::Family::Hopfield,
            rule: HiddenRule::Potential,
            loss: LossKind::Squared,
            beta: 1.0,
            mu_y: 0.0,
            mu_g: 0.0,
            steps: &st,
            updates: &spec.free_updates,
        };
        let mut z = phases::zero_state(&n, &x);
        let mut prev: Option<Vec<f64>> = None;
        let mut last_change = f64::INFINITY;
        let mut before = z.clone();
        let mut trace = |u: Update, z: &Vec<Mat<f64>>| {
            if matches!(u, Update::Forward(_)) {
                return;
            }
            let e = energy(z);
            if let Some(p) = &prev {
                for (a, b) in e.iter().zip(p) {
                    assert!(
                        *a <= b + 1e-13 * (1.0 + b.abs()),
                        "{u:?} raised E: {b} → {a}"
                    );
                }
            }
            prev = Some(e);
            if u == Update::Output {
                last_change = z
                    .iter()
                    .zip(&before)
                    .map(|(a, b)| {
                        a.data
                            .iter()
                            .zip(&b.data)
                            .map(|(p, q)| (p - q).abs())
                            .fold(0.0, f64::max)
                    })
                    .fold(0.0, f64::max);
                before = z.clone();
            }
        };
        phases::run(
            &n,
            &ps,
            Targets { labels: &y, g: &[] },
            &mut z,
            Some(&mut trace),
        );
        assert!(
            last_change < 1e-12,
            "not converged after 60 sweeps: last sweep moved {last_change}"
        );
    }
}

/// Danskin gradient vs central differences of the (exact, many-sweep) objective.
fn check_danskin(n: &Net<f64>, c: &TrainConfig, seed: u64) {
    let (x, y) = batch(seed);
    let spec = LiftedSpec::new(c);
    let st = step_sizes(n, c);
    let free = free_state(n, &spec, &st, &x, &y);
    let g = phases::runner_up(&free[3], &y);
    let g: Vec<u8> = if c.objective == Objective::Targeted {
        g
    } else {
        Vec::new()
    };
    let res = lifted_batch(n, &spec, &st, &x, &y, &g, &free);
    let j = |m: &Net<f64>| mean(&values(m, c, &x, &y, &g));
    for dseed in 0..3 {
        let d = direction(n, 100 + dseed);
        let h = 1e-5;
        let fd = (j(&moved(n, &d, h)) - j(&moved(n, &d, -h))) / (2.0 * h);
        let an = dot(&res.grads, &d);
        let rel = (fd - an).abs() / an.abs().max(1e-6);
        assert!(
            rel <= 1e-6,
            "{} ({:?}): Danskin {an} vs finite differences {fd}, rel. err {rel:.2e}",
            c.objective,
            c.potential
        );
    }
    // docs/method.md §6 row 8: ∂J/∂γ_k = ±(1/β)φ_k(ẑ).
    for k in 0..3 {
        let h = 1e-5;
        let at = |s: f64| {
            let mut m = n.clone();
            m.gamma[k] += s;
            let cc = TrainConfig {
                gamma: m.gamma.clone(),
                ..c.clone()
            };
            mean(&values(&m, &cc, &x, &y, &g))
        };
        let fd = (at(h) - at(-h)) / (2.0 * h);
        let an = res.gamma_grad[k];
        assert!(
            (fd - an).abs() <= 1e-6 * an.abs().max(1e-4),
            "{}: ∂J/∂γ_{} = {an} vs finite differences {fd}",
            c.objective,
            k + 1
        );
    }
}

#[test]
fn danskin_gradients_match_finite_differences() {
    // docs/method.md §6 rows 8–9, both families, every lifted objective.
    let gamma = [0.8, 1.5, 1.0];
    for seed in 0..2 {
        for act in [Activation::Relu, Activation::Identity] {
            let n = net(act, 0.5, &gamma, seed);
            let base = |o: Objective, beta: f64| TrainConfig {
                gamma: gamma.to_vec(),
                ..cfg(o, beta, 300)
            };
            let mut cs = vec![
                base(Objective::Rovr, 0.5),
                base(Objective::Arovr, 0.3),
                TrainConfig {
                    alpha: 0.3,
                    ..base(Objective::Mixed, 0.3)
                },
                TrainConfig {
                    lambda_u: 1.0,
                    lambda_t: 0.5,
                    ..base(Objective::Targeted, 0.3)
                },
            ];
            if act == Activation::Identity {
                for d in [
                    RelaxedDistance::PostActivation,
                    RelaxedDistance::PreActivation,
                ] {
                    cs.push(TrainConfig {
                        relaxed_distance: d,
                        ..base(Objective::Relaxed, 0.3)
                    });
                }
            }
            for c in cs {
                check_danskin(&n, &c, seed);
            }
            // Family B needs β < μ for a finite exact problem (docs/method.md §5.9): smaller weights.
            let nb = net(act, 0.25, &gamma, seed);
            let mu = mu_lower(&gamma, &hidden_sigmas(&nb, 12));
            assert!(
                mu > 0.2,
                "family-B instance not well posed: λ_min(T) = {mu}"
            );
            for c in [
                base(Objective::Arovr, 0.1),
                base(Objective::Rovr, 0.5),
                TrainConfig {
                    alpha: 0.5,
                    ..base(Objective::Mixed, 0.2)
                },
            ] {
                check_danskin(
                    &nb,
                    &TrainConfig {
                        potential: Potential::Hopfield,
                        ..c
                    },
                    seed,
                );
            }
        }
    }
}

#[test]
fn exact_objectives_are_monotone_in_beta_and_gamma() {
    // docs/method.md §6 rows 6–7 on exact solutions (identity activations, small weights, 300 sweeps).
    let n = net(Activation::Identity, 0.5, &[1.0; 3], 5);
    let (x, y) = batch(5);
    let j = |o: Objective, beta: f64, gamma: [f64; 3]| {
        let mut m = n.clone();
        m.gamma = gamma.to_vec();
        values(
            &m,
            &TrainConfig {
                gamma: gamma.to_vec(),
                ..cfg(o, beta, 300)
            },
            &x,
            &y,
            &[],
        )
    };
    let betas = [0.05, 0.1, 0.2, 0.4];
    for w in betas.windows(2) {
        let (a0, a1) = (
            j(Objective::Arovr, w[0], [1.0; 3]),
            j(Objective::Arovr, w[1], [1.0; 3]),
        );
        let (r0, r1) = (
            j(Objective::Rovr, w[0], [1.0; 3]),
            j(Objective::Rovr, w[1], [1.0; 3]),
        );
        for i in 0..BATCH {
            assert!(
                a1[i] > a0[i],
                "J^AROVR not increasing in β: {} → {}",
                a0[i],
                a1[i]
            );
            assert!(
                r1[i] < r0[i],
                "J^ROVR not decreasing in β: {} → {}",
                r0[i],
                r1[i]
            );
        }
    }
    for k in 0..3 {
        let at = |v: f64| {
            let mut g = [1.0; 3];
            g[k] = v;
            j(Objective::Arovr, 0.3, g)
        };
        let (lo, mid, hi) = (at(0.5), at(1.0), at(2.0));
        let mid_lin = at(1.25);
        for i in 0..BATCH {
            assert!(
                lo[i] > mid[i] && mid[i] > hi[i],
                "J^AROVR not decreasing in γ_{}: {} {} {}",
                k + 1,
                lo[i],
                mid[i],
                hi[i]
            );
            assert!(
                mid_lin[i] <= 0.5 * (lo[i] + hi[i]) + 1e-12,
                "J^AROVR not convex in γ_{}",
                k + 1
            );
        }
    }
}

#[test]
fn small_beta_gradient_tends_to_backprop() {
    // docs/method.md §6 row 10: ‖∇J^AROVR_β − ∇ℓ_BP‖ = O(β): the error drops ≈ 10× per decade of β.
    for (act, seed) in [
        (Activation::Relu, 7),
        (Activation::Identity, 8),
        (Activation::Relu, 9),
    ] {
        let n = net(act, 0.5, &[1.0; 3], seed);
        let (x, y) = batch(seed);
        let bp = backprop(&n, LossKind::Squared, &x, &y, true, false)
            .grads
            .unwrap();
        let err = |beta: f64| {
            let c = cfg(Objective::Arovr, beta, 600);
            let spec = LiftedSpec::new(&c);
            let st = step_sizes(&n, &c);
            let free = free_state(&n, &spec, &st, &x, &y);
            let g = lifted_batch(&n, &spec, &st, &x, &y, &[], &free).grads;
            g.values()
                .zip(bp.values())
                .map(|(a, b)| (a - b) * (a - b))
                .sum::<f64>()
                .sqrt()
        };
        let e: Vec<f64> = [1e-1, 1e-2, 1e-3, 1e-4].iter().map(|&b| err(b)).collect();
        let norm = bp.values().map(|v| v * v).sum::<f64>().sqrt();
        eprintln!("{act:?} seed {seed}: errors {e:?}, ‖∇ℓ‖ = {norm}");
        assert!(
            e[2] < 1e-2 * norm,
            "β = 1e-3 still far from BP: {e:?} (‖∇‖ = {norm})"
        );
        // The first decade still carries O(β²) terms; from β = 1e-2 on the ratio is ≈ 10.
        assert!(
            (5.0..20.0).contains(&(e[0] / e[1])),
            "first-decade ratio {:.2} (errors {e:?})",
            e[0] / e[1]
        );
        for w in e[1..].windows(2) {
            let ratio = w[0] / w[1];
            assert!(
                (9.0..11.0).contains(&ratio),
                "error ratio per decade {ratio:.2} (errors {e:?})"
            );
        }
    }
}

#[test]
fn mixed_objective_separates() {
    // docs/method.md §6 row 14: J_{α,β} = α J^ROVR_{αβ} + (1 − α) J^AROVR_{(1−α)β}, for the K-sweep
    // surrogate too (same updates; only the output closed form is rounded differently).
    let n = net(Activation::Relu, 1.0, &[1.0; 3], 9);
    let (x, y) = batch(9);
    let (alpha, beta) = (0.3, 0.8);
    for k in [2u16, 5, 200] {
        let mixed = values(
            &n,
            &TrainConfig {
                alpha,
                ..cfg(Objective::Mixed, beta, k)
            },
            &x,
            &y,
            &[],
        );
        let rovr = values(&n, &cfg(Objective::Rovr, alpha * beta, k), &x, &y, &[]);
        let arovr = values(
            &n,
            &cfg(Objective::Arovr, (1.0 - alpha) * beta, k),
            &x,
            &y,
            &[],
        );
        for i in 0..BATCH {
            let sep = alpha * rovr[i] + (1.0 - alpha) * arovr[i];
            assert!(
                (mixed[i] - sep).abs() <= 1e-12 * (1.0 + sep.abs()),
                "K {k}: J_αβ {} vs {sep}",
                mixed[i]
            );
        }
    }
}

#[test]
fn forward_pass_has_zero_potential_and_gamma_keeps_the_predictor() {
    // docs/method.md §6 rows 1 and 11 (family A), bit-exact.
    let n = net(Activation::Relu, 1.0, &[0.3, 2.0, 1.0], 11);
    let (x, _) = batch(11);
    let z = n.forward(&x);
    for row in phases::phi(
        &n,
        lifted_core::Family::FenchelYoung,
        HiddenRule::Potential,
        &z,
    ) {
        assert!(row.iter().all(|&v| v == 0.0), "U(forward) ≠ 0: {row:?}");
    }
    let mut m = n.clone();
    m.gamma = vec![1.0; 3];
    assert_eq!(m.forward(&x), z);
}
