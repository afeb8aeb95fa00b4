//! `wisp devices`: the drive listing a person about to wipe drives needs.

use std::io::Write;

use anyhow::Context;
use serde::Serialize;
use shred::{BlockDevice, EmptyDevices, Hazard, SystemView, Usage};

use crate::cli::DevicesArgs;
use crate::output::{self, human_bytes, paint, sanitize, Stream, Style};
use crate::Outcome;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Table,
    Json,
}

#[derive(Debug, Clone)]
pub struct Config {
    pub format: Format,
    pub empty: EmptyDevices,
}

impl Config {
    pub fn from_args(args: &DevicesArgs) -> Config {
        Config {
            format: if args.json {
                Format::Json
            } else {
                Format::Table
            },
            empty: if args.all {
                EmptyDevices::Include
            } else {
                EmptyDevices::Skip
            },
        }
    }
}

pub fn run(config: Config) -> anyhow::Result<Outcome> {
    let devices =
        shred::discover(&SystemView::live(), config.empty).context("cannot list block devices")?;
    let mut stdout = std::io::stdout().lock();
    match config.format {
        Format::Json => {
            let views: Vec<DeviceJson> = devices.iter().map(DeviceJson::from).collect();
            serde_json::to_writer_pretty(&mut stdout, &views)?;
            writeln!(stdout)?;
        }
        Format::Table => stdout.write_all(render_table(&devices).as_bytes())?,
    }
    stdout.flush()?;
    Ok(Outcome::Success)
}

/// The JSON form: the library's device plus the conveniences a script wants.
#[derive(Serialize)]
struct DeviceJson<'a> {
    #[serde(flatten)]
    device: &'a BlockDevice,
    size_human: String,
    hazards: Vec<Hazard>,
}

impl<'a> From<&'a BlockDevice> for DeviceJson<'a> {
    fn from(device: &'a BlockDevice) -> Self {
        DeviceJson {
            device,
            size_human: human_bytes(device.size_bytes),
            hazards: device.hazards(),
        }
    }
}

pub fn render_table(devices: &[BlockDevice]) -> String {
    if devices.is_empty() {
        return "no block devices found\n".to_string();
    }
    let header = [
        "DEVICE", "SIZE", "BYTES", "TRAN", "MODEL", "SERIAL", "WWN", "SECTOR", "MEDIA", "IN USE",
        "DETAIL",
    ];
    let rows: Vec<Vec<String>> = devices.iter().map(row).collect();
    let table = output::table(&header, &rows);
    // Colour is applied after alignment so escape codes do not skew the widths.
    let mut out = String::new();
    for (index, line) in table.lines().enumerate() {
        let styled = match index {
            0 => paint(Stream::Stdout, Style::Bold, line),
            n if devices[n - 1].is_in_use() => paint(Stream::Stdout, Style::Warning, line),
            _ => line.to_string(),
        };
        out.push_str(&styled);
        out.push('\n');
    }
    out
}

fn row(device: &BlockDevice) -> Vec<String> {
    let text = |value: &Option<String>| value.as_deref().map_or("-".into(), sanitize);
    let model = match (&device.vendor, &device.model) {
        (Some(vendor), Some(model)) if !model.starts_with(vendor.as_str()) && vendor != "ATA" => {
            sanitize(&format!("{vendor} {model}"))
        }
        (_, model) => text(model),
    };
    let mut media = vec![if device.rotational { "hdd" } else { "ssd" }];
    if device.removable {
        media.push("removable");
    }
    if device.read_only {
        media.push("ro");
    }
    let hazards: Vec<String> = device.hazards().iter().map(Hazard::to_string).collect();
    let mut detail: Vec<String> = Vec::new();
    if let Some(backing) = &device.backing_file {
        detail.push(format!(
            "backing {}",
            sanitize(&backing.display().to_string())
        ));
    }
    for usage in &device.usage {
        if let Usage::Mounted { mountpoint, .. } = usage {
            detail.push(format!(
                "on {}",
                sanitize(&mountpoint.display().to_string())
            ));
        }
    }
    if !device.partitions.is_empty() {
        detail.push(format!("{} partitions", device.partitions.len()));
    }
    vec![
        device.path.display().to_string(),
        human_bytes(device.size_bytes),
        device.size_bytes.to_string(),
        device.transport.to_string(),
        model,
        text(&device.serial),
        text(&device.wwn),
        format!(
            "{}/{}",
            device.logical_sector_size, device.physical_sector_size
        ),
        media.join(","),
        if hazards.is_empty() {
            "-".into()
        } else {
            hazards.join(",")
        },
        detail.join("; "),
    ]
}
