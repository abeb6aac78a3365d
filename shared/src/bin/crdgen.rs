//! Writes the merged LocustTest CRD to the path the chart uses (or stdout with `-`).

use std::path::PathBuf;

fn main() -> std::io::Result<()> {
    let yaml = shared::crd::locusttest_crd_yaml();
    match std::env::args().nth(1).as_deref() {
        Some("-") => {
            print!("{yaml}");
            Ok(())
        }
        Some(path) => std::fs::write(path, yaml),
        None => {
            let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("..");
            let path = root.join(shared::crd::CRD_PATH);
            if let Some(dir) = path.parent() {
                std::fs::create_dir_all(dir)?;
            }
            std::fs::write(&path, yaml)?;
            eprintln!("wrote {}", path.display());
            Ok(())
        }
    }
}
