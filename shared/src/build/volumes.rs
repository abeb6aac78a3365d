//! Volumes and mounts: test files, lib files, secret mounts, then the test's own volumes, each
//! only in the pods a mount targets.

use k8s_openapi::api::core::v1::{ConfigMapVolumeSource, SecretVolumeSource, Volume, VolumeMount};

use crate::api::v2::{LocustTestSpec, MountTarget, TargetedVolumeMount};
use crate::constants::LIB_VOLUME_NAME;
use crate::naming::{self, Role};

fn targets(mount: &TargetedVolumeMount, role: Role) -> bool {
    matches!(
        (mount.target, role),
        (MountTarget::Both, _) | (MountTarget::Master, Role::Master) | (MountTarget::Worker, Role::Worker)
    )
}

fn config_map_volume(name: String, config_map: &str) -> Volume {
    Volume {
        name,
        config_map: Some(ConfigMapVolumeSource {
            name: config_map.into(),
            ..ConfigMapVolumeSource::default()
        }),
        ..Volume::default()
    }
}

/// Volumes of a `role` pod. A Secret mounted at several paths gets one volume, not a duplicate
/// that the API server would reject.
pub fn pod_volumes(test_name: &str, spec: &LocustTestSpec, role: Role) -> Vec<Volume> {
    let mut volumes = Vec::new();
    if let Some(files) = &spec.test_files {
        if let Some(config_map) = &files.config_map_ref {
            volumes.push(config_map_volume(naming::child_name(test_name, role), config_map));
        }
        if let Some(config_map) = &files.lib_config_map_ref {
            volumes.push(config_map_volume(LIB_VOLUME_NAME.into(), config_map));
        }
    }
    for mount in spec.env.iter().flat_map(|e| e.secret_mounts.iter().flatten()) {
        let name = naming::secret_volume_name(&mount.name);
        if !volumes.iter().any(|v: &Volume| v.name == name) {
            volumes.push(Volume {
                name,
                secret: Some(SecretVolumeSource {
                    secret_name: Some(mount.name.clone()),
                    ..SecretVolumeSource::default()
                }),
                ..Volume::default()
            });
        }
    }
    let mounts: Vec<&TargetedVolumeMount> = spec
        .volume_mounts
        .iter()
        .flatten()
        .filter(|m| targets(m, role))
        .collect();
    volumes.extend(
        spec.volumes
            .iter()
            .flatten()
            .filter(|volume| mounts.iter().any(|m| m.name == volume.name))
            .cloned(),
    );
    volumes
}

/// Mounts of the Locust container in a `role` pod, in the same order as [`pod_volumes`].
pub fn pod_volume_mounts(test_name: &str, spec: &LocustTestSpec, role: Role) -> Vec<VolumeMount> {
    let mut mounts = Vec::new();
    if let Some(files) = &spec.test_files {
        if files.config_map_ref.is_some() {
            mounts.push(VolumeMount {
                name: naming::child_name(test_name, role),
                mount_path: files.src_mount_path.clone(),
                read_only: Some(false),
                ..VolumeMount::default()
            });
        }
        if files.lib_config_map_ref.is_some() {
            mounts.push(VolumeMount {
                name: LIB_VOLUME_NAME.into(),
                mount_path: files.lib_mount_path.clone(),
                read_only: Some(false),
                ..VolumeMount::default()
            });
        }
    }
    mounts.extend(
        spec.env
            .iter()
            .flat_map(|e| e.secret_mounts.iter().flatten())
            .map(|mount| VolumeMount {
                name: naming::secret_volume_name(&mount.name),
                mount_path: mount.mount_path.clone(),
                read_only: Some(mount.read_only),
                ..VolumeMount::default()
            }),
    );
    mounts.extend(
        spec.volume_mounts
            .iter()
            .flatten()
            .filter(|m| targets(m, role))
            .map(|mount| VolumeMount {
                name: mount.name.clone(),
                mount_path: mount.mount_path.clone(),
                sub_path: mount.sub_path.clone(),
                sub_path_expr: mount.sub_path_expr.clone(),
                read_only: mount.read_only,
                recursive_read_only: mount.recursive_read_only.clone(),
                mount_propagation: mount.mount_propagation.clone(),
            }),
    );
    mounts
}
