//! `lifted`: the host side of the lifted kit (training, evaluation, certification, export).

pub mod data;
