//! The seeded fleet generator: `accounts=3,regions=2,instances=500,patches=40[,seed=N]` gives a
//! realistic organization: an Organizations tree, accounts with the roles patchhub assumes, and
//! per account and Region a mix of Windows and Linux nodes whose patches come from shared
//! per-platform catalogs (so the same KB is missing on many nodes), with a share of
//! non-compliant, pending-reboot, stale, disconnected and never-scanned nodes.
//!
//! The same spec and seed give the same fleet, relative to the `now` passed in.

use std::collections::{BTreeMap, HashSet};
use std::str::FromStr;

use chrono::{DateTime, Duration, Utc};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use sha2::{Digest, Sha256};

use crate::fleet::{AccountSpec, Fleet, InstanceSpec, OrgSpec, OuSpec, PatchSpec, RoleSpec};

/// What to generate.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GenerateSpec {
    /// Member accounts (the management account is one of them).
    pub accounts: usize,
    /// Regions per account.
    pub regions: usize,
    /// Managed nodes per account and Region.
    pub instances: usize,
    /// Patches per node (installed and missing together).
    pub patches: usize,
    /// Seed.
    pub seed: u64,
    /// Extra accounts in the `SUSPENDED` state (no roles, no nodes).
    pub suspended: usize,
    /// Extra accounts in the `CLOSED` state (no roles, no nodes).
    pub closed: usize,
    /// Percent of nodes whose EC2 instance is stopped: absent from
    /// `DescribeInstanceInformation`, compliance data kept.
    pub stopped: u32,
    /// Percent of nodes carrying tags EC2 allows and Security Hub refuses
    /// ([`crate::hostile_tags`]); 10 unless `hostile_tags=N` says otherwise.
    pub hostile_tags: u32,
}

impl FromStr for GenerateSpec {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let mut spec = GenerateSpec {
            accounts: 1,
            regions: 1,
            instances: 10,
            patches: 20,
            seed: 1,
            suspended: 0,
            closed: 0,
            stopped: 0,
            hostile_tags: crate::hostile_tags::DEFAULT_PERCENT,
        };
        for part in s.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            let (k, v) = part.split_once('=').ok_or_else(|| {
                format!("generate spec part `{part}` is not KEY=N (e.g. accounts=3,regions=2)")
            })?;
            let n: u64 = v
                .parse()
                .map_err(|_| format!("generate spec `{k}={v}`: `{v}` is not a whole number"))?;
            match k {
                "accounts" => spec.accounts = n as usize,
                "regions" => spec.regions = n as usize,
                "instances" => spec.instances = n as usize,
                "patches" => spec.patches = n as usize,
                "seed" => spec.seed = n,
                "suspended" => spec.suspended = n as usize,
                "closed" => spec.closed = n as usize,
                "stopped" | "hostile_tags" if n > 100 => {
                    return Err(format!("generate spec `{k}={n}`: a percentage, 0 to 100"));
                }
                "stopped" => spec.stopped = n as u32,
                "hostile_tags" => spec.hostile_tags = n as u32,
                other => {
                    return Err(format!(
                        "unknown generate key `{other}`: use accounts, regions, instances, patches, suspended, closed, stopped, hostile_tags, seed"
                    ));
                }
            }
        }
        if spec.accounts == 0 || spec.regions == 0 {
            return Err("generate spec needs accounts >= 1 and regions >= 1".into());
        }
        if spec.regions > 16 {
            return Err("generate spec: at most 16 regions".into());
        }
        Ok(spec)
    }
}

/// Regions in the order accounts use them (a fleet with `regions=2` is in the first two).
pub const REGIONS: [&str; 16] = [
    "us-east-1",
    "eu-west-1",
    "us-west-2",
    "ap-southeast-2",
    "eu-central-1",
    "ap-northeast-1",
    "us-east-2",
    "ca-central-1",
    "eu-west-2",
    "ap-south-1",
    "sa-east-1",
    "eu-north-1",
    "ap-southeast-1",
    "us-west-1",
    "eu-west-3",
    "ap-northeast-2",
];

/// Opt-in Regions the generated accounts have not enabled: calls there are refused, as in AWS.
pub const DISABLED_REGIONS: [&str; 2] = ["ap-east-1", "me-south-1"];

/// Role patchhub assumes in every account.
pub const PATCHHUB_ROLE: &str = "PatchhubRole";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Os {
    Windows2022,
    Windows2019,
    AmazonLinux2023,
    Ubuntu2204,
    Rhel9,
}

/// Platform shares in percent (40% Windows).
const OS_MIX: [(Os, u32); 5] = [
    (Os::Windows2022, 25),
    (Os::Windows2019, 15),
    (Os::AmazonLinux2023, 25),
    (Os::Ubuntu2204, 20),
    (Os::Rhel9, 15),
];

impl Os {
    fn windows(self) -> bool {
        matches!(self, Os::Windows2022 | Os::Windows2019)
    }

    fn platform(self) -> (&'static str, &'static str, &'static str) {
        match self {
            Os::Windows2022 => (
                "Windows",
                "Microsoft Windows Server 2022 Datacenter",
                "10.0.20348",
            ),
            Os::Windows2019 => (
                "Windows",
                "Microsoft Windows Server 2019 Datacenter",
                "10.0.17763",
            ),
            Os::AmazonLinux2023 => ("Linux", "Amazon Linux", "2023"),
            Os::Ubuntu2204 => ("Linux", "Ubuntu", "22.04"),
            Os::Rhel9 => ("Linux", "Red Hat Enterprise Linux", "9.3"),
        }
    }

    fn short(self) -> &'static str {
        match self {
            Os::Windows2022 => "win2022",
            Os::Windows2019 => "win2019",
            Os::AmazonLinux2023 => "al2023",
            Os::Ubuntu2204 => "ubuntu",
            Os::Rhel9 => "rhel",
        }
    }
}

/// One patch of a platform catalog; nodes draw their patches from it.
struct Entry {
    id: String,
    title: String,
    classification: &'static str,
    severity: &'static str,
    compliance_severity: &'static str,
    cve_ids: Vec<String>,
    released: DateTime<Utc>,
}

const PACKAGES: [&str; 60] = [
    "openssl",
    "kernel",
    "glibc",
    "curl",
    "sudo",
    "bash",
    "systemd",
    "openssh",
    "python3",
    "vim",
    "tar",
    "gnutls",
    "nss",
    "expat",
    "libxml2",
    "zlib",
    "sqlite",
    "krb5",
    "binutils",
    "git",
    "less",
    "polkit",
    "dbus",
    "util-linux",
    "shadow-utils",
    "libssh",
    "pcre2",
    "perl",
    "rsync",
    "grub2",
    "cups",
    "bind",
    "freetype",
    "libtiff",
    "libpng",
    "ncurses",
    "gzip",
    "xz",
    "e2fsprogs",
    "audit",
    "NetworkManager",
    "firewalld",
    "containerd",
    "runc",
    "nginx",
    "httpd",
    "postgresql",
    "mariadb",
    "nodejs",
    "java-17-openjdk",
    "ruby",
    "php",
    "samba",
    "libarchive",
    "libgcrypt",
    "gnupg2",
    "wget",
    "unzip",
    "emacs",
    "tcpdump",
];

fn pick<T: Copy>(rng: &mut SmallRng, weighted: &[(T, u32)]) -> T {
    let total: u32 = weighted.iter().map(|(_, w)| w).sum();
    let mut x = rng.random_range(0..total);
    for (item, w) in weighted {
        if x < *w {
            return *item;
        }
        x -= w;
    }
    weighted[weighted.len() - 1].0
}

impl Entry {
    fn new(
        id: String,
        title: String,
        classification: &'static str,
        (severity, compliance_severity): (&'static str, &'static str),
        cve_ids: Vec<String>,
        released: DateTime<Utc>,
    ) -> Self {
        Entry {
            id,
            title,
            classification,
            severity,
            compliance_severity,
            cve_ids,
            released,
        }
    }
}

/// A security update's vendor severity, drawn with `weights` over critical, important,
/// medium (the vendor's word `medium`) and low, with the compliance severity it maps to.
fn vendor_severity(
    rng: &mut SmallRng,
    medium: &'static str,
    weights: [u32; 4],
) -> (&'static str, &'static str) {
    pick(
        rng,
        &[
            (("Critical", "CRITICAL"), weights[0]),
            (("Important", "HIGH"), weights[1]),
            ((medium, "MEDIUM"), weights[2]),
            (("Low", "LOW"), weights[3]),
        ],
    )
}

fn cves(rng: &mut SmallRng, year: i32) -> Vec<String> {
    let n = pick(rng, &[(0, 10), (1, 35), (2, 30), (3, 15), (4, 10)]);
    (0..n)
        .map(|_| {
            let y = rng.random_range((year - 1).max(2021)..=year);
            format!("CVE-{y}-{}", rng.random_range(20_000..50_000))
        })
        .collect()
}

fn package_name(k: usize, ubuntu: bool) -> String {
    let base = PACKAGES[k % PACKAGES.len()];
    let round = k / PACKAGES.len();
    let suffixes: [&str; 5] = if ubuntu {
        ["", "-common", "-dev", "-tools", "-doc"]
    } else {
        ["", "-libs", "-devel", "-tools", "-doc"]
    };
    match round {
        r if r < suffixes.len() => format!("{base}{}", suffixes[r]),
        r => format!("{base}{}", r),
    }
}

fn catalog(rng: &mut SmallRng, os: Os, size: usize, now: DateTime<Utc>) -> Vec<Entry> {
    // Oldest first, one entry every few days over the last two years.
    let span_days = 730i64;
    (0..size)
        .map(|k| {
            let age = span_days - (k as i64 * (span_days - 3)) / size.max(1) as i64;
            let released = now - Duration::days(age) - Duration::hours(rng.random_range(0..24));
            let year: i32 = released.format("%Y").to_string().parse().unwrap_or(2024);
            let ym = released.format("%Y-%m").to_string();
            if os.windows() {
                windows_entry(rng, os, k, released, year, &ym)
            } else {
                linux_entry(rng, os, k, released, year)
            }
        })
        .collect()
}

fn windows_entry(
    rng: &mut SmallRng,
    os: Os,
    k: usize,
    released: DateTime<Utc>,
    year: i32,
    ym: &str,
) -> Entry {
    let kb = format!("KB{}", 5_000_000 + k * 997 + rng.random_range(0..997));
    let server = match os {
        Os::Windows2022 => "Microsoft server operating system version 21H2",
        _ => "Windows Server 2019",
    };
    let classification = pick(
        rng,
        &[
            ("SecurityUpdates", 45),
            ("CriticalUpdates", 15),
            ("Updates", 20),
            ("UpdateRollups", 10),
            ("DefinitionUpdates", 10),
        ],
    );
    let title = match classification {
        "SecurityUpdates" => match rng.random_range(0..3) {
            0 => format!("{ym} Cumulative Update for {server} for x64-based Systems ({kb})"),
            1 => format!("{ym} Security Update for {server} for x64-based Systems ({kb})"),
            _ => format!(
                "{ym} Cumulative Update for .NET Framework 3.5, 4.8 and 4.8.1 for {server} for x64 ({kb})"
            ),
        },
        "CriticalUpdates" => format!("{ym} Update for {server} for x64-based Systems ({kb})"),
        "Updates" => {
            format!("{ym} Servicing Stack Update for {server} for x64-based Systems ({kb})")
        }
        "UpdateRollups" => format!(
            "Windows Malicious Software Removal Tool x64 - v5.{} ({kb})",
            100 + k % 30
        ),
        _ => format!(
            "Security Intelligence Update for Microsoft Defender Antivirus - {kb} (Version 1.40{}.{}.0)",
            k % 10,
            rng.random_range(100..999)
        ),
    };
    let security = classification == "SecurityUpdates";
    let severity = if security {
        vendor_severity(rng, "Moderate", [30, 50, 15, 5])
    } else if classification == "CriticalUpdates" {
        ("Unspecified", "MEDIUM")
    } else {
        ("Unspecified", "UNSPECIFIED")
    };
    let cve_ids = if security {
        cves(rng, year)
    } else {
        Vec::new()
    };
    Entry::new(kb, title, classification, severity, cve_ids, released)
}

fn linux_entry(rng: &mut SmallRng, os: Os, k: usize, released: DateTime<Utc>, year: i32) -> Entry {
    let name = package_name(k, os == Os::Ubuntu2204);
    let (major, minor, patch) = (
        rng.random_range(1..6),
        rng.random_range(0..20),
        rng.random_range(0..30),
    );
    let rel = rng.random_range(1..12);
    let classification = pick(
        rng,
        &[("Security", 55), ("Bugfix", 35), ("Enhancement", 10)],
    );
    let severity = if classification == "Security" {
        vendor_severity(rng, "Medium", [15, 45, 30, 10])
    } else {
        ("None", "UNSPECIFIED")
    };
    let advisory = rng.random_range(100..999);
    let (id, title) = match os {
        Os::AmazonLinux2023 => {
            let epoch = rng.random_range(0..2);
            let build = rng.random_range(1..20);
            (
                format!("{name}.x86_64:{epoch}:{major}.{minor}.{patch}-{rel}.amzn2023.0.{build}"),
                format!("ALAS2023-{year}-{advisory}: {name}"),
            )
        }
        Os::Rhel9 => {
            let epoch = rng.random_range(0..2);
            let kind = match classification {
                "Security" => ("RHSA", "security update"),
                "Bugfix" => ("RHBA", "bug fix update"),
                _ => ("RHEA", "enhancement update"),
            };
            (
                format!("{name}.x86_64:{epoch}:{major}.{minor}.{patch}-{rel}.el9_3"),
                format!("{}-{year}:{advisory}{}: {name} {}", kind.0, k % 10, kind.1),
            )
        }
        _ => (
            name.clone(),
            format!("{name} {major}.{minor}.{patch}-0ubuntu{rel}.{}", k % 20),
        ),
    };
    let cve_ids = if classification == "Security" {
        cves(rng, year)
    } else {
        Vec::new()
    };
    Entry::new(id, title, classification, severity, cve_ids, released)
}

fn hex_id(rng: &mut SmallRng, len: usize) -> String {
    const HEX: &[u8] = b"0123456789abcdef";
    (0..len)
        .map(|_| HEX[rng.random_range(0..16)] as char)
        .collect()
}

fn alnum(rng: &mut SmallRng, len: usize) -> String {
    const CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    (0..len)
        .map(|_| CHARS[rng.random_range(0..CHARS.len())] as char)
        .collect()
}

fn uuid(rng: &mut SmallRng) -> String {
    let h = hex_id(rng, 32);
    format!(
        "{}-{}-4{}-{}{}-{}",
        &h[0..8],
        &h[8..12],
        &h[13..16],
        ["8", "9", "a", "b"][rng.random_range(0..4)],
        &h[17..20],
        &h[20..32]
    )
}

/// A 12-digit account id not in `used` (and now in it).
fn account_id(rng: &mut SmallRng, used: &mut HashSet<String>) -> String {
    loop {
        let id = format!(
            "{}{:011}",
            rng.random_range(1..10),
            rng.random_range(0..100_000_000_000u64)
        );
        if used.insert(id.clone()) {
            return id;
        }
    }
}

/// A baseline id per account, Region, platform and environment (`pb-` + 17 hex).
fn baseline_id(account: &str, region: &str, os: Os, env: &str) -> String {
    let d = Sha256::digest(format!("{account}/{region}/{}/{env}", os.short()).as_bytes());
    format!("pb-0{}", &hex::encode(d)[..16])
}

const ACCOUNT_NAMES: [&str; 10] = [
    "prod-payments",
    "prod-web",
    "staging",
    "dev",
    "shared-services",
    "security",
    "log-archive",
    "data-platform",
    "sandbox",
    "ml",
];

/// Generates a fleet whose times are relative to `now`.
pub fn generate(spec: &GenerateSpec, now: DateTime<Utc>) -> Fleet {
    let mut rng = SmallRng::seed_from_u64(spec.seed);
    let root4 = alnum(&mut rng, 4);
    let root_id = format!("r-{root4}");
    let ou = |name: &str, parent: &str, rng: &mut SmallRng| OuSpec {
        id: format!("ou-{root4}-{}", alnum(rng, 8)),
        name: name.to_string(),
        parent: parent.to_string(),
    };
    let security = ou("Security", &root_id, &mut rng);
    let workloads = ou("Workloads", &root_id, &mut rng);
    let prod = ou("Prod", &workloads.id, &mut rng);
    let nonprod = ou("NonProd", &workloads.id, &mut rng);
    let sandbox = ou("Sandbox", &root_id, &mut rng);
    let org_id = format!("o-{}", alnum(&mut rng, 10));

    // Catalogs shared by every node of a platform.
    let size = (spec.patches * 2).max(30);
    let catalogs: Vec<(Os, Vec<Entry>)> = OS_MIX
        .iter()
        .map(|(os, _)| (*os, catalog(&mut rng, *os, size, now)))
        .collect();

    let mut used_ids = HashSet::new();
    let mut accounts = Vec::with_capacity(spec.accounts);
    for a in 0..spec.accounts {
        let id = account_id(&mut rng, &mut used_ids);
        let name = if a == 0 {
            "management".to_string()
        } else {
            let base = ACCOUNT_NAMES[(a - 1) % ACCOUNT_NAMES.len()];
            match (a - 1) / ACCOUNT_NAMES.len() {
                0 => base.to_string(),
                n => format!("{base}-{}", n + 1),
            }
        };
        let parent = if a == 0 {
            None
        } else if name.starts_with("prod") {
            Some(prod.id.clone())
        } else if name.starts_with("staging") || name.starts_with("dev") {
            Some(nonprod.id.clone())
        } else if name.starts_with("security") || name.starts_with("log-archive") {
            Some(security.id.clone())
        } else if name.starts_with("sandbox") {
            Some(sandbox.id.clone())
        } else {
            Some(workloads.id.clone())
        };
        // Both trust the management account only (the fleet's default trust), as the
        // organization's stack sets deploy them.
        let mut roles = vec![RoleSpec::named(PATCHHUB_ROLE)];
        if a > 0 {
            roles.push(RoleSpec::named("OrganizationAccountAccessRole"));
        }
        let regions: Vec<String> = REGIONS[..spec.regions.min(REGIONS.len())]
            .iter()
            .map(|r| r.to_string())
            .collect();
        let mut instances = Vec::with_capacity(spec.instances * regions.len());
        for region in &regions {
            nodes(
                &mut rng,
                spec,
                &catalogs,
                &id,
                &name,
                region,
                now,
                &mut instances,
            );
        }
        accounts.push(AccountSpec {
            email: format!("aws+{name}@example.com"),
            id,
            name,
            status: "ACTIVE".to_string(),
            parent,
            roles,
            regions,
            disabled_regions: DISABLED_REGIONS.iter().map(|r| r.to_string()).collect(),
            instances,
        });
    }
    // Accounts out of service, from their own random stream so that adding them leaves the
    // rest of the fleet as it was.
    let mut extra = SmallRng::seed_from_u64(spec.seed ^ 0x5eed_acc7);
    let states = std::iter::repeat_n("SUSPENDED", spec.suspended)
        .chain(std::iter::repeat_n("CLOSED", spec.closed));
    for (k, state) in states.enumerate() {
        let id = account_id(&mut extra, &mut used_ids);
        let name = format!("{}-{}", state.to_lowercase(), k + 1);
        accounts.push(AccountSpec {
            email: format!("aws+{name}@example.com"),
            id,
            name,
            status: state.to_string(),
            parent: Some(sandbox.id.clone()),
            roles: Vec::new(),
            regions: Vec::new(),
            disabled_regions: Vec::new(),
            instances: Vec::new(),
        });
    }
    if spec.stopped > 0 {
        stop_some(&mut accounts, spec);
    }
    crate::hostile_tags::add(&mut accounts, spec.hostile_tags, spec.seed);
    Fleet {
        organization: Some(OrgSpec {
            id: org_id,
            management_account: accounts[0].id.clone(),
            root_id,
            organizational_units: vec![security, workloads, prod, nonprod, sandbox],
        }),
        accounts,
    }
}

/// Marks `spec.stopped` percent of each account's nodes in each Region (rounded down) as
/// stopped, drawn from their own random stream.
fn stop_some(accounts: &mut [AccountSpec], spec: &GenerateSpec) {
    let mut rng = SmallRng::seed_from_u64(spec.seed ^ 0x5709_9ed0);
    for a in accounts {
        let mut by_region: BTreeMap<String, Vec<usize>> = BTreeMap::new();
        for (i, node) in a.instances.iter().enumerate() {
            by_region.entry(node.region.clone()).or_default().push(i);
        }
        for nodes in by_region.values() {
            let n = nodes.len() * spec.stopped as usize / 100;
            for k in rand::seq::index::sample(&mut rng, nodes.len(), n) {
                a.instances[nodes[k]].ping_status = crate::fleet::STOPPED.to_string();
            }
        }
    }
}

/// How a node stands with Patch Manager.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Standing {
    Compliant,
    /// Missing or failed patches.
    NonCompliant,
    /// Installed with NoReboot, waiting for a restart.
    PendingReboot,
}

#[allow(clippy::too_many_arguments)]
fn nodes(
    rng: &mut SmallRng,
    spec: &GenerateSpec,
    catalogs: &[(Os, Vec<Entry>)],
    account: &str,
    account_name: &str,
    region: &str,
    now: DateTime<Utc>,
    out: &mut Vec<InstanceSpec>,
) {
    // The daily scan and last week's install window of this account and Region: most nodes
    // share their command ids, as with a maintenance window.
    let daily_scan = now - Duration::minutes(rng.random_range(60..20 * 60));
    let daily_scan_id = uuid(rng);
    let install_window = now - Duration::days(rng.random_range(2..7)) - Duration::hours(3);
    let install_id = uuid(rng);
    let mut ids = HashSet::with_capacity(spec.instances);
    for n in 0..spec.instances {
        let hybrid = rng.random_bool(0.10);
        let id = loop {
            let id = if hybrid {
                format!("mi-0{}", hex_id(rng, 16))
            } else {
                format!("i-0{}", hex_id(rng, 16))
            };
            if ids.insert(id.clone()) {
                break id;
            }
        };
        let os = pick(rng, &OS_MIX);
        let (platform_type, platform_name, platform_version) = os.platform();
        let env = if account_name.starts_with("prod") {
            "prod"
        } else {
            pick(rng, &[("prod", 45), ("staging", 25), ("dev", 30)])
        };
        let role = if os.windows() {
            ["ad", "iis", "sql", "rdgw", "file"][rng.random_range(0..5)]
        } else {
            ["web", "api", "worker", "db", "cache", "build", "bastion"][rng.random_range(0..7)]
        };
        let name = if hybrid {
            format!("onprem-{role}-{n:03}")
        } else {
            format!("{role}-{env}-{n:03}")
        };
        let family = if os.windows() { "windows" } else { "linux" };
        let patch_group = rng.random_bool(0.9).then(|| format!("{env}-{family}"));
        let mut tags = BTreeMap::from([
            ("Name".to_string(), name),
            ("Environment".to_string(), env.to_string()),
            (
                "Team".to_string(),
                ["platform", "payments", "data", "identity"][rng.random_range(0..4)].to_string(),
            ),
        ]);
        if let Some(g) = &patch_group {
            tags.insert("Patch Group".to_string(), g.clone());
        }
        let ping_status = if rng.random_bool(0.03) {
            "ConnectionLost"
        } else {
            "Online"
        };
        let never_scanned = rng.random_bool(0.02);
        let stale = rng.random_bool(0.05);
        let u: f64 = rng.random();
        let standing = if u < 0.05 {
            Standing::PendingReboot
        } else if u < 0.35 {
            Standing::NonCompliant
        } else {
            Standing::Compliant
        };
        let (operation, reboot_option) = match standing {
            Standing::PendingReboot => ("Install", "NoReboot"),
            _ if rng.random_bool(0.2) => ("Install", "RebootIfNeeded"),
            _ => ("Scan", "RebootIfNeeded"),
        };
        let (start, execution_id) = if ping_status != "Online" {
            (
                now - Duration::days(rng.random_range(2..10))
                    - Duration::minutes(rng.random_range(0..600)),
                uuid(rng),
            )
        } else if stale {
            (
                now - Duration::days(rng.random_range(10..=40))
                    - Duration::minutes(rng.random_range(0..600)),
                uuid(rng),
            )
        } else if operation == "Install" {
            (
                install_window + Duration::seconds(rng.random_range(0..900)),
                install_id.clone(),
            )
        } else {
            (
                daily_scan + Duration::seconds(rng.random_range(0..300)),
                daily_scan_id.clone(),
            )
        };
        let end = start + Duration::seconds(rng.random_range(20..420));
        let asu_compliant = os.windows()
            && (standing == Standing::Compliant || rng.random_bool(0.5))
            || !os.windows();
        let catalog = &catalogs
            .iter()
            .find(|(o, _)| *o == os)
            .expect("a catalog per platform")
            .1;
        let patches = node_patches(rng, spec, catalog, os, standing, start);
        out.push(InstanceSpec {
            id,
            region: region.to_string(),
            platform_type: platform_type.to_string(),
            platform_name: platform_name.to_string(),
            platform_version: platform_version.to_string(),
            tags,
            ping_status: ping_status.to_string(),
            baseline_id: baseline_id(account, region, os, env),
            patch_group,
            operation: (!never_scanned).then(|| operation.to_string()),
            reboot_option: reboot_option.to_string(),
            operation_start_time: (!never_scanned).then_some(start),
            operation_end_time: (!never_scanned).then_some(end),
            execution_id: (!never_scanned).then_some(execution_id),
            available_security_updates_compliant: asu_compliant,
            patches,
        });
    }
}

fn node_patches(
    rng: &mut SmallRng,
    spec: &GenerateSpec,
    catalog: &[Entry],
    os: Os,
    standing: Standing,
    scanned: DateTime<Utc>,
) -> Vec<PatchSpec> {
    if spec.patches == 0 || catalog.is_empty() {
        return Vec::new();
    }
    let low = (spec.patches * 3 / 4).max(1);
    let high = (spec.patches * 5 / 4).max(low);
    let n = rng.random_range(low..=high).min(catalog.len());
    let mut picks: Vec<usize> = rand::seq::index::sample(rng, catalog.len(), n).into_vec();
    // Oldest first: the newest patches are the ones a node is most likely to lack.
    picks.sort_unstable();
    let missing_from = match standing {
        Standing::NonCompliant => n - rng.random_range(1..=(n / 3).clamp(1, 6)),
        _ => n,
    };
    let pending_from = match standing {
        Standing::PendingReboot => n - rng.random_range(1..=n.min(3)),
        _ => n,
    };
    let rejected = standing == Standing::NonCompliant && rng.random_bool(0.05);
    let asu = os.windows() && rng.random_bool(0.05);
    let mut patches = Vec::with_capacity(n);
    for (i, &k) in picks.iter().enumerate() {
        let e = &catalog[k];
        let installed_at = (e.released + Duration::days(rng.random_range(1..15)))
            .min(scanned - Duration::hours(1));
        let state = if i >= missing_from {
            if rng.random_bool(0.1) {
                "FAILED"
            } else {
                "MISSING"
            }
        } else if i >= pending_from {
            "INSTALLED_PENDING_REBOOT"
        } else if rejected && i == 0 {
            "INSTALLED_REJECTED"
        } else if asu
            && i + 1 == missing_from.min(pending_from)
            && e.classification == "SecurityUpdates"
        {
            // Compliant or not depending on the baseline's setting for these.
            "AVAILABLE_SECURITY_UPDATE"
        } else {
            let x: f64 = rng.random();
            let not_applicable = if os.windows() { 0.10 } else { 0.05 };
            if x < not_applicable {
                "NOT_APPLICABLE"
            } else if x < not_applicable + 0.08 {
                "INSTALLED_OTHER"
            } else {
                "INSTALLED"
            }
        };
        let installed_time = matches!(
            state,
            "INSTALLED" | "INSTALLED_OTHER" | "INSTALLED_REJECTED" | "INSTALLED_PENDING_REBOOT"
        )
        .then_some(installed_at);
        patches.push(PatchSpec {
            id: e.id.clone(),
            title: e.title.clone(),
            classification: e.classification.to_string(),
            severity: e.severity.to_string(),
            compliance_severity: e.compliance_severity.to_string(),
            state: state.to_string(),
            cve_ids: e.cve_ids.clone(),
            installed_time,
        });
    }
    patches
}
