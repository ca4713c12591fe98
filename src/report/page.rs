//! `DIR/report.html`: the pictures in one standalone page for a browser (the SVGs inline, nothing fetched).

use std::fmt::Write;

use super::{GENERATED, Picture, ReportFile};

/// The page, from the pictures already drawn (`files`).
pub fn page(title: &str, pictures: &[Picture], files: &[ReportFile]) -> String {
    let mut html = format!(
        "<!DOCTYPE html>\n<!-- {GENERATED} -->\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <title>{}</title>\n<style>body {{ font-family: sans-serif; max-width: 800px; margin: 2em auto; }} \
         figure {{ margin: 2em 0; }} figcaption {{ font-weight: bold; }}</style>\n</head>\n<body>\n<h1>{}</h1>\n\
         <p>The pictures of this directory's <a href=\"README.md\">dataset card</a>.</p>\n",
        escape(title),
        escape(title)
    );
    for picture in pictures {
        let svg = files.iter().find(|file| file.path == picture.path).map(|file| file.text.as_str()).unwrap_or("");
        // The SVG inline, without its XML declaration (not allowed inside HTML).
        let svg = svg.strip_prefix("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n").unwrap_or(svg);
        let _ = write!(html, "<figure>\n<figcaption>{}</figcaption>\n{svg}</figure>\n", escape(&picture.title));
    }
    html.push_str("</body>\n</html>\n");
    html
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}
