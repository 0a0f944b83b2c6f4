//! The CPU's energy counters through Linux's powercap interface (Intel RAPL, also AMD's
//! `amd_energy`-backed zones): one `intel-rapl:N` folder per package under
//! `/sys/class/powercap`, each with `energy_uj` (microjoules, wrapping at
//! `max_energy_range_uj`) and a `name`. Only the package zones are read — their sub-zones
//! (`intel-rapl:N:M`, core and DRAM) are parts of them. Since 2020 kernels let only root read
//! `energy_uj`; an unreadable counter is a stated reason, never a guess.

use std::path::{Path, PathBuf};

/// Where the kernel puts the powercap zones.
pub const POWERCAP: &str = "/sys/class/powercap";

/// The readable package zones.
#[derive(Debug, Clone)]
pub struct Rapl {
    zones: Vec<Zone>,
}

#[derive(Debug, Clone)]
struct Zone {
    energy: PathBuf,
    range_uj: Option<u64>,
}

fn read_u64(p: &Path) -> std::io::Result<u64> {
    std::fs::read_to_string(p)?
        .trim()
        .parse()
        .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e))
}

impl Rapl {
    /// Open the package zones under `root`, or say why there are none.
    pub fn open(root: &Path) -> Result<Rapl, String> {
        let entries = std::fs::read_dir(root)
            .map_err(|e| format!("RAPL: {} cannot be read ({e})", root.display()))?;
        let mut dirs: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .map(|e| e.path())
            .filter(|p| {
                p.file_name()
                    .and_then(|n| n.to_str())
                    .and_then(|n| n.strip_prefix("intel-rapl:"))
                    .is_some_and(|rest| !rest.contains(':'))
            })
            .collect();
        dirs.sort();
        if dirs.is_empty() {
            return Err(format!("RAPL: no package zone under {}", root.display()));
        }
        let mut zones = Vec::new();
        for d in dirs {
            let energy = d.join("energy_uj");
            read_u64(&energy).map_err(|e| {
                format!(
                    "RAPL: {} cannot be read ({e}){}",
                    energy.display(),
                    if e.kind() == std::io::ErrorKind::PermissionDenied {
                        ": the kernel lets only root read it (run as root, or `chmod o+r` it)"
                    } else {
                        ""
                    }
                )
            })?;
            zones.push(Zone {
                range_uj: read_u64(&d.join("max_energy_range_uj")).ok(),
                energy,
            });
        }
        Ok(Rapl { zones })
    }

    /// Every zone's counter now (`None` where a read failed).
    pub fn read(&self) -> Vec<Option<u64>> {
        self.zones
            .iter()
            .map(|z| read_u64(&z.energy).ok())
            .collect()
    }

    /// Where each zone's counter wraps.
    pub fn ranges(&self) -> Vec<Option<u64>> {
        self.zones.iter().map(|z| z.range_uj).collect()
    }
}
