//! The pictures of `DIR/report/`, drawn as SVG with plotters: class balance per split, a token-length
//! histogram per split with the truncation cuts marked, and where folds or groups exist, per-fold balance or
//! per-split class shares. Bars are `<rect>`s of their series' colour, each with its value written above it;
//! legends use circles, so that every rect of a series' colour is one of its bars.

use std::collections::BTreeMap;

use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

use super::GENERATED;
use super::lengths::{CUTS, TokenLengths};
use crate::error::{Error, Result};

/// The series' colours, in order (Tableau 10).
const PALETTE: [RGBColor; 10] = [
    RGBColor(0x4E, 0x79, 0xA7),
    RGBColor(0xF2, 0x8E, 0x2B),
    RGBColor(0x59, 0xA1, 0x4F),
    RGBColor(0xE1, 0x57, 0x59),
    RGBColor(0x76, 0xB7, 0xB2),
    RGBColor(0xED, 0xC9, 0x48),
    RGBColor(0xB0, 0x7A, 0xA1),
    RGBColor(0xFF, 0x9D, 0xA7),
    RGBColor(0x9C, 0x75, 0x5F),
    RGBColor(0xBA, 0xB0, 0xAC),
];
const CUT_COLOUR: RGBColor = RGBColor(0xC0, 0x39, 0x2B);
const FONT: &str = "sans-serif";
const SIZE: (u32, u32) = (760, 440);

/// A series of bars, one per category.
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
    /// Written above each bar.
    pub labels: Vec<String>,
}

/// The colour of the `index`th series.
pub fn colour(index: usize) -> RGBColor {
    PALETTE[index % PALETTE.len()]
}

/// Bars grouped by category, one per series; a bar of value 0 is not drawn.
pub fn grouped_bars(title: &str, y_description: &str, categories: &[String], series: &[Series]) -> Result<String> {
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let top = series.iter().flat_map(|series| series.values.iter().copied()).fold(0.0, f64::max);
        let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
        let categories_count = categories.len().max(1) as f64;
        // Room for the legend: about 7 pixels a character at its size.
        let longest = series.iter().map(|series| series.name.chars().count()).max().unwrap_or(0) as u32;
        let legend_width = (longest * 7 + 40).clamp(150, SIZE.0 / 2);
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FONT, 20))
            .margin(16)
            .margin_right(legend_width)
            .x_label_area_size(56)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..categories_count, 0.0..y_max)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .x_labels(0)
            .y_desc(y_description)
            .y_label_formatter(&|value| format!("{value:.0}"))
            .draw()
            .map_err(drawing)?;
        let width = 0.8 / series.len().max(1) as f64;
        for (index, series) in series.iter().enumerate() {
            let colour = colour(index);
            for (category, (value, label)) in series.values.iter().zip(&series.labels).enumerate() {
                if *value <= 0.0 {
                    continue;
                }
                let left = category as f64 + 0.1 + width * index as f64;
                chart
                    .draw_series(std::iter::once(Rectangle::new(
                        [(left, 0.0), (left + width, *value)],
                        colour.filled(),
                    )))
                    .map_err(drawing)?;
                let style = TextStyle::from((FONT, 11)).pos(Pos::new(HPos::Center, VPos::Bottom));
                chart
                    .draw_series(std::iter::once(
                        EmptyElement::at((left + width / 2.0, *value)) + Text::new(label.clone(), (0, -3), style),
                    ))
                    .map_err(drawing)?;
            }
        }
        let label_style = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Center, VPos::Top));
        for (index, category) in categories.iter().enumerate() {
            let (x, y) = chart.backend_coord(&(index as f64 + 0.5, 0.0));
            root.draw(&Text::new(category.clone(), (x, y + 8), label_style.clone())).map_err(drawing)?;
        }
        legend(&root, SIZE.0 as i32 - legend_width as i32 + 10, series.iter().map(|series| series.name.as_str()))?;
        root.present().map_err(drawing)?;
    }
    Ok(mark(svg))
}

/// The histogram of one split's token lengths, with the cuts of [`CUTS`] (and `--max-length`) marked and the
/// share of rows each truncates printed: `truncated` has the share per cut, `None` where the written lengths
/// cannot tell it (cuts at or past `--max-length`, whose rows were truncated already). `cut_to` is
/// `--max-length` with the rows `prepare` truncated to it (if recorded).
pub fn length_histogram(
    split: &str,
    index: usize,
    lengths: &TokenLengths,
    cut_to: Option<(u64, Option<u64>)>,
    truncated: &BTreeMap<u64, Option<f64>>,
) -> Result<String> {
    let max_length = cut_to.map(|(length, _)| length);
    let longest = lengths.max().unwrap_or(0);
    let width = (longest + 1).div_ceil(80).max(1);
    let bins = lengths.bins(width);
    let x_max = ((longest / width) + 1) * width;
    let top = bins.values().copied().max().unwrap_or(0) as f64;
    let y_max = if top > 0.0 { top * 1.15 } else { 1.0 };
    let shares: Vec<String> = truncated
        .iter()
        .filter_map(|(cut, share)| share.map(|share| format!("{cut}: {:.1}%", share * 100.0)))
        .collect();
    let mut subtitle = Vec::new();
    if let Some((length, rows)) = cut_to {
        subtitle.push(match rows {
            Some(rows) if lengths.rows() > 0 => format!(
                "written truncated to {length} tokens: {rows} rows ({:.1}%)",
                100.0 * rows as f64 / lengths.rows() as f64
            ),
            _ => format!("written truncated to {length} tokens"),
        });
    }
    if !shares.is_empty() {
        subtitle.push(format!("rows truncated at {}", shares.join(" · ")));
    }
    let subtitle = subtitle.join("; ");
    let subtitle = subtitle[..1].to_uppercase() + &subtitle[1..];
    let mut svg = String::new();
    {
        let root = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
        root.fill(&WHITE).map_err(drawing)?;
        let (top_area, rest) = root.split_vertically(56);
        top_area
            .draw(&Text::new(
                format!("Token lengths: {split} ({} rows)", lengths.rows()),
                (380, 8),
                TextStyle::from((FONT, 20)).pos(Pos::new(HPos::Center, VPos::Top)),
            ))
            .map_err(drawing)?;
        top_area
            .draw(&Text::new(subtitle, (380, 34), TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Center, VPos::Top))))
            .map_err(drawing)?;
        let mut chart = ChartBuilder::on(&rest)
            .margin(16)
            .x_label_area_size(44)
            .y_label_area_size(64)
            .build_cartesian_2d(0.0..x_max as f64, 0.0..y_max)
            .map_err(drawing)?;
        chart
            .configure_mesh()
            .disable_x_mesh()
            .max_light_lines(0)
            .x_desc(if width == 1 { "tokens".to_owned() } else { format!("tokens (bins of {width})") })
            .y_desc("rows")
            .x_label_formatter(&|value| format!("{value:.0}"))
            .y_label_formatter(&|value| format!("{value:.0}"))
            .draw()
            .map_err(drawing)?;
        let colour = colour(index);
        chart
            .draw_series(bins.iter().map(|(bin, rows)| {
                let left = (bin * width) as f64;
                Rectangle::new([(left, 0.0), (left + width as f64, *rows as f64)], colour.filled())
            }))
            .map_err(drawing)?;
        // A row of length L fills [L, L + 1): the rows a cut at C truncates start at C + 1.
        let marks = CUTS.iter().copied().filter(|cut| max_length.is_none_or(|length| *cut < length)).chain(max_length);
        for cut in marks.filter(|cut| cut + 1 <= x_max) {
            let x = cut as f64 + 1.0;
            // Labels of marks near the right edge go to the left of their line.
            let (anchor, offset) = if x > 0.75 * x_max as f64 { (HPos::Right, -4) } else { (HPos::Left, 4) };
            chart
                .draw_series(std::iter::once(PathElement::new([(x, 0.0), (x, y_max)], CUT_COLOUR.stroke_width(2))))
                .map_err(drawing)?;
            let label = match truncated.get(&cut) {
                Some(Some(share)) => format!("{cut}: {:.1}% cut", share * 100.0),
                _ => format!("max length {cut}"),
            };
            let style = TextStyle::from((FONT, 12)).color(&CUT_COLOUR).pos(Pos::new(anchor, VPos::Top));
            chart
                .draw_series(std::iter::once(EmptyElement::at((x, y_max)) + Text::new(label, (offset, 4), style)))
                .map_err(drawing)?;
        }
        root.present().map_err(drawing)?;
    }
    Ok(mark(svg))
}

/// Circles and names at the top right, from `x`.
fn legend<'a>(root: &DrawingArea<SVGBackend, Shift>, x: i32, names: impl Iterator<Item = &'a str>) -> Result<()> {
    let style = TextStyle::from((FONT, 13)).pos(Pos::new(HPos::Left, VPos::Center));
    for (index, name) in names.enumerate() {
        let y = 60 + 22 * index as i32;
        root.draw(&Circle::new((x, y), 6, colour(index).filled())).map_err(drawing)?;
        root.draw(&Text::new(name.to_owned(), (x + 12, y), style.clone())).map_err(drawing)?;
    }
    Ok(())
}

/// An XML declaration and mlprep's mark before the drawing.
fn mark(svg: String) -> String {
    format!("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<!-- {GENERATED} -->\n{svg}")
}

fn drawing<E: std::fmt::Debug>(error: E) -> Error {
    Error::Internal(format!("drawing a picture failed: {error:?}"))
}
