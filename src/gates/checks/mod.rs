//! Checks shared by the two dispatch gates (`auto_apply_scope`, `allow_one_shot_stateful_apply`).

pub mod backup_artifact;
pub mod backup_beside;
pub mod backup_binding;
pub mod backup_manifest;
pub mod backup_reference;
pub mod backup_size;
pub mod confirm_phrase;
pub mod policy_exceptions;
pub mod restore_drill;
pub mod restore_path;
pub mod risk_class;
pub mod statefulness;
