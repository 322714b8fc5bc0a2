//! One flag name per concept across the commands: the README's "Command-line flags" table is
//! checked against the commands' arguments, the older radius names are hidden aliases of the
//! current ones, the older positional model and data set arguments are hidden and mean the same
//! as `--model` and `--dataset`, and `--threads` means the same everywhere.

use clap::{Args, Command, FromArgMatches, Subcommand};

/// Every command of the CLI that takes flags, by the name the README uses.
fn commands() -> Vec<(String, Command)> {
    let mut v = vec![
        (
            "train",
            lifted::train::cli::TrainArgs::augment_args(Command::new("train")),
        ),
        (
            "certify",
            lifted::eval::cli_certify::CertifyArgs::augment_args(Command::new("certify")),
        ),
        (
            "evaluate",
            lifted::eval::cli_evaluate::EvaluateArgs::augment_args(Command::new("evaluate")),
        ),
        (
            "export",
            lifted::model::cli_export::ExportArgs::augment_args(Command::new("export")),
        ),
        (
            "inspect",
            lifted::model::cli_inspect::InspectArgs::augment_args(Command::new("inspect")),
        ),
        (
            "plot",
            lifted::plot::cli::PlotArgs::augment_args(Command::new("plot")),
        ),
        (
            "remote",
            lifted::device::remote::RemoteArgs::augment_args(Command::new("remote")),
        ),
        (
            "demo",
            lifted::demo::DemoArgs::augment_args(Command::new("demo")),
        ),
        (
            "onnx",
            lifted::model::onnx::OnnxArgs::augment_args(Command::new("onnx")),
        ),
    ]
    .into_iter()
    .map(|(n, c)| (n.to_owned(), c))
    .collect::<Vec<_>>();
    let exp =
        lifted::experiment::cli::ExperimentCommand::augment_subcommands(Command::new("experiment"));
    for sub in exp.get_subcommands() {
        v.push((format!("experiment {}", sub.get_name()), sub.clone()));
    }
    let data = lifted::data::cli::DataCommand::augment_subcommands(Command::new("data"));
    for sub in data.get_subcommands() {
        v.push((format!("data {}", sub.get_name()), sub.clone()));
    }
    v
}

fn command(name: &str) -> Command {
    commands()
        .into_iter()
        .find(|(n, _)| n == name)
        .unwrap_or_else(|| panic!("no command `{name}`"))
        .1
}

fn arg<'c>(cmd: &'c Command, long: &str) -> Option<&'c clap::Arg> {
    cmd.get_arguments().find(|a| a.get_long() == Some(long))
}

/// One row of the README's flag table: flags, commands, older names with their command, older
/// positional arguments (value name) with their command.
type Row = (
    Vec<String>,
    Vec<String>,
    Vec<(String, String)>,
    Vec<(String, String)>,
);

/// The rows of the README's flag table.
fn readme_rows() -> Vec<Row> {
    let readme = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../README.md"))
        .expect("README.md");
    let start = readme
        .find("## Command-line flags")
        .expect("the README has a Command-line flags section");
    let section = &readme[start..];
    let end = section[2..].find("\n## ").map_or(section.len(), |e| e + 2);
    let flags = |cell: &str| -> Vec<String> {
        cell.split('`')
            .skip(1)
            .step_by(2)
            .filter_map(|t| t.split_whitespace().next())
            .filter(|t| t.starts_with("--"))
            .map(|t| t.trim_start_matches("--").to_owned())
            .collect()
    };
    let mut rows = Vec::new();
    for line in section[..end]
        .lines()
        .filter(|l| l.starts_with("| "))
        .skip(1)
    {
        let cells: Vec<&str> = line.split('|').map(str::trim).collect();
        // | concept | flag | commands | older names |
        let names: Vec<String> = cells[3]
            .split('`')
            .skip(1)
            .step_by(2)
            .map(str::to_owned)
            .collect();
        let mut old = Vec::new();
        let mut positional = Vec::new();
        for part in cells[4].split("),").filter(|p| !p.trim().is_empty()) {
            let (f, cmds) = part
                .split_once('(')
                .expect("older names end with (`command`, …)");
            let cmds: Vec<String> = cmds
                .split('`')
                .skip(1)
                .step_by(2)
                .map(str::to_owned)
                .collect();
            assert!(!cmds.is_empty(), "no command in `{part}`");
            for cmd in &cmds {
                old.extend(flags(f).into_iter().map(|o| (o, cmd.clone())));
                if let Some(p) = f.strip_prefix("a positional ") {
                    positional.push((p.trim().trim_matches('`').to_owned(), cmd.clone()));
                }
            }
        }
        rows.push((flags(cells[2]), names, old, positional));
    }
    rows
}

#[test]
fn the_readme_table_matches_the_commands() {
    let rows = readme_rows();
    assert!(rows.len() >= 10, "{rows:?}");
    let mut checked = 0;
    let mut positionals = 0;
    for (flags, names, old, positional) in &rows {
        assert!(
            !flags.is_empty() && !names.is_empty(),
            "{flags:?} {names:?}"
        );
        for name in names {
            let cmd = command(name);
            for f in flags {
                assert!(arg(&cmd, f).is_some(), "`lifted {name}` has no --{f}");
                checked += 1;
            }
        }
        for (o, name) in old {
            let cmd = command(name);
            let a = cmd
                .get_arguments()
                .find(|a| a.get_all_aliases().is_some_and(|v| v.contains(&o.as_str())))
                .unwrap_or_else(|| panic!("--{o} is no alias in `lifted {name}`"));
            assert!(
                flags.iter().any(|f| a.get_long() == Some(f.as_str())),
                "--{o} of `lifted {name}` is an alias of --{:?}, not of a flag of its row",
                a.get_long()
            );
            assert!(
                !a.get_visible_aliases()
                    .is_some_and(|v| v.contains(&o.as_str())),
                "--{o} should be hidden"
            );
        }
        for (value, name) in positional {
            let cmd = command(name);
            let a = cmd
                .get_positionals()
                .find(|a| {
                    a.get_value_names()
                        .is_some_and(|v| v.iter().any(|n| n.as_str() == value))
                })
                .unwrap_or_else(|| panic!("`lifted {name}` takes no positional {value}"));
            assert!(
                a.is_hide_set(),
                "the positional {value} of `lifted {name}` is shown"
            );
            assert!(
                !a.is_required_set(),
                "the positional {value} of `lifted {name}` is required"
            );
            positionals += 1;
        }
    }
    assert!(checked > 60, "{checked}");
    assert_eq!(positionals, 3);
}

/// No command shows a positional argument for a concept that has a flag elsewhere: the model
/// blob and the data set are `--model` and `--dataset` everywhere.
#[test]
fn model_and_data_set_are_flags_in_every_command() {
    for (name, cmd) in commands() {
        for a in cmd.get_positionals().filter(|a| !a.is_hide_set()) {
            let value = a
                .get_value_names()
                .map(|v| {
                    v.iter()
                        .map(ToString::to_string)
                        .collect::<Vec<_>>()
                        .join(" ")
                })
                .unwrap_or_default();
            assert!(
                !["M.lfm", "DATASET", "MODEL"].contains(&value.as_str()),
                "`lifted {name}` takes {value} as a positional argument"
            );
        }
        for flag in ["model", "dataset"] {
            if let Some(a) = arg(&cmd, flag) {
                assert!(!a.is_positional(), "{name}");
            }
        }
    }
    for name in ["certify", "evaluate", "remote", "inspect", "onnx"] {
        let cmd = command(name);
        let a = arg(&cmd, "model").unwrap_or_else(|| panic!("`lifted {name}` has no --model"));
        let v = a.get_value_names().unwrap();
        assert_eq!(v[0].as_str(), "M.lfm", "{name}");
    }
}

/// The older positional forms parse to the same arguments as the flags.
#[test]
fn older_positional_forms_mean_the_flags() {
    use lifted::data::cli::DataCommand;
    use lifted::model::cli_inspect::InspectArgs;
    let inspect = |args: &[&str]| {
        let cmd = InspectArgs::augment_args(Command::new("inspect"));
        let m = cmd
            .try_get_matches_from(std::iter::once(&"inspect").chain(args))
            .map_err(|e| e.to_string())?;
        let a = InspectArgs::from_arg_matches(&m).map_err(|e| e.to_string())?;
        Ok::<_, String>((a.model_path().unwrap().to_owned(), a.json))
    };
    let new = inspect(&["--model", "m.lfm", "--json"]).unwrap();
    assert_eq!(new, ("m.lfm".into(), true));
    assert_eq!(inspect(&["m.lfm", "--json"]).unwrap(), new);
    let e = inspect(&["a.lfm", "--model", "b.lfm"]).unwrap_err();
    assert!(e.contains("cannot be used with"), "{e}");
    let e = inspect(&["--json"]).unwrap_err();
    assert!(e.contains("--model <M.lfm>"), "{e}");

    let data = |args: &[&str]| {
        let cmd = DataCommand::augment_subcommands(Command::new("data"));
        let m = cmd
            .try_get_matches_from(std::iter::once(&"data").chain(args))
            .map_err(|e| e.to_string())?;
        match DataCommand::from_arg_matches(&m).map_err(|e| e.to_string())? {
            DataCommand::Info(a) => Ok(format!("info {:?}", a.dataset.or(a.dataset_argument))),
            DataCommand::Fetch(a) => {
                Ok::<_, String>(format!("fetch {:?}", a.dataset.or(a.dataset_argument)))
            }
        }
    };
    assert_eq!(
        data(&["info", "--dataset", "mnist"]).unwrap(),
        "info Some(Mnist)"
    );
    assert_eq!(data(&["info", "mnist"]).unwrap(), "info Some(Mnist)");
    assert_eq!(
        data(&["fetch", "--dataset", "fashion-mnist"]).unwrap(),
        "fetch Some(FashionMnist)"
    );
    assert_eq!(
        data(&["fetch", "fashion-mnist"]).unwrap(),
        "fetch Some(FashionMnist)"
    );
    let e: String = data(&["info"]).unwrap_err();
    assert!(e.contains("--dataset <DATASET>"), "{e}");
}

#[test]
fn no_command_shows_an_older_radius_name() {
    for (name, cmd) in commands() {
        for old in ["l2", "linf", "eps-l2", "eps-linf"] {
            assert!(arg(&cmd, old).is_none(), "`lifted {name}` has --{old}");
        }
        let help = cmd.clone().render_long_help().to_string();
        for old in ["--l2 ", "--linf ", "--eps-l2 ", "--eps-linf "] {
            assert!(!help.contains(old), "`lifted {name} --help` shows {old}");
        }
    }
}

#[test]
fn older_radius_names_still_parse_as_the_current_ones() {
    let parse_certify = |args: &[&str]| {
        let cmd = lifted::eval::cli_certify::CertifyArgs::augment_args(Command::new("certify"));
        let m = cmd
            .try_get_matches_from(
                ["certify", "--model", "m.lfm", "--dataset", "digits"]
                    .iter()
                    .chain(args),
            )
            .unwrap();
        let a = lifted::eval::cli_certify::CertifyArgs::from_arg_matches(&m).unwrap();
        (a.radii.l2, a.radii.linf)
    };
    let new = parse_certify(&["--cert-l2", "0.2,0.4", "--cert-linf", "0.02"]);
    assert_eq!(new, (vec![0.2, 0.4], vec![0.02]));
    assert_eq!(parse_certify(&["--l2", "0.2,0.4", "--linf", "0.02"]), new);
    // Both names at once are the same flag given twice: an error, not a concatenation.
    let cmd = lifted::eval::cli_certify::CertifyArgs::augment_args(Command::new("certify"));
    let e = cmd
        .try_get_matches_from([
            "certify",
            "--model",
            "m",
            "--dataset",
            "digits",
            "--l2",
            "0.1",
            "--cert-l2",
            "0.2",
        ])
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("--cert-l2") && e.contains("cannot be used multiple times"),
        "{e}"
    );

    let parse_remote = |args: &[&str]| {
        let cmd = lifted::device::remote::RemoteArgs::augment_args(Command::new("remote"));
        let m = cmd
            .try_get_matches_from(["remote", "--port", "tcp:127.0.0.1:9"].iter().chain(args))
            .unwrap();
        let a = lifted::device::remote::RemoteArgs::from_arg_matches(&m).unwrap();
        (a.radii.l2, a.radii.linf)
    };
    let new = parse_remote(&["--cert-l2", "0.3", "--cert-linf", "0.01,0.05"]);
    assert_eq!(new, (vec![0.3], vec![0.01, 0.05]));
    assert_eq!(
        parse_remote(&["--eps-l2", "0.3", "--eps-linf", "0.01,0.05"]),
        new
    );
}

#[test]
fn threads_zero_means_one_per_core_in_every_command() {
    let mut with = Vec::new();
    for (name, cmd) in commands() {
        if let Some(a) = arg(&cmd, "threads") {
            let help = a.get_help().map(ToString::to_string).unwrap_or_default();
            assert!(
                help.contains("0: one per core"),
                "`lifted {name} --threads`: {help}"
            );
            with.push(name);
        }
    }
    assert_eq!(with, ["train", "certify", "evaluate", "experiment run"]);
}
