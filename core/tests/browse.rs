//! Browsing the library without a query: every image newest first (date taken; undated ones
//! last), a page at a time with keyset cursors, filters applied.

use crate::common;

use std::path::Path;

use clipstream_core::{Filters, Library, ListCursor};
use common::{index, open_library, repo, shape};

/// The fixture JPEG with its EXIF date replaced by `taken` (`YYYY:MM:DD HH:MM:SS`).
fn jpeg_taken(taken: &str) -> Vec<u8> {
    let mut jpeg =
        std::fs::read(repo().join("tests/fixtures/photos/chelsea_upright.jpg")).expect("read");
    let at = jpeg
        .windows(19)
        .position(|w| w == b"2021:06:15 14:30:00")
        .expect("the fixture's EXIF date");
    jpeg[at..at + 19].copy_from_slice(taken.as_bytes());
    jpeg
}

fn all_pages(library: &Library, filters: &Filters, page: usize) -> Vec<Vec<String>> {
    let mut pages = Vec::new();
    let mut after: Option<ListCursor> = None;
    loop {
        let p = library.list(filters, after, page).expect("lists");
        assert!(p.images.len() <= page);
        pages.push(p.images.iter().map(|h| name(&h.path)).collect());
        match p.next {
            Some(next) => after = Some(next),
            None => return pages,
        }
    }
}

fn name(path: &Path) -> String {
    path.file_name()
        .expect("a file")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn every_image_newest_first_a_page_at_a_time() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir(&photos).expect("mkdir");
    for (file, taken) in [
        ("b-2019.jpg", "2019:03:01 08:00:00"),
        ("a-2023-may.jpg", "2023:05:20 10:00:00"),
        ("c-2023-jan.jpg", "2023:01:02 09:00:00"),
        ("d-2021.jpg", "2021:12:31 23:59:59"),
        // Taken in the same second as d: the two are ordered by id, across a page's end too.
        ("e-2021-twin.jpg", "2021:12:31 23:59:59"),
    ] {
        std::fs::write(photos.join(file), jpeg_taken(taken)).expect("write");
    }
    for n in [3, 4, 5] {
        std::fs::copy(shape(n), photos.join(format!("undated-{n}.png"))).expect("copy");
    }
    let library = open_library(&tmp.path().join("lib"));
    library.add_folder(&photos).expect("adds");
    index(&library);

    let whole = library.list(&Filters::default(), None, 100).expect("lists");
    assert_eq!(whole.next, None);
    let names: Vec<String> = whole.images.iter().map(|h| name(&h.path)).collect();
    // Dated newest first, then undated ones most recently indexed (highest id) first.
    let twins: Vec<(i64, String)> = whole.images[2..4]
        .iter()
        .map(|h| (h.id, name(&h.path)))
        .collect();
    assert!(
        twins[0].0 > twins[1].0,
        "same date: the higher id first: {twins:?}"
    );
    let mut twin_names: Vec<&str> = twins.iter().map(|(_, n)| n.as_str()).collect();
    twin_names.sort_unstable();
    assert_eq!(twin_names, ["d-2021.jpg", "e-2021-twin.jpg"]);
    assert_eq!(
        [&names[..2], &names[4..5]].concat(),
        ["a-2023-may.jpg", "c-2023-jan.jpg", "b-2019.jpg"]
    );
    let undated: Vec<(i64, String)> = whole.images[5..]
        .iter()
        .map(|h| (h.id, name(&h.path)))
        .collect();
    assert_eq!(undated.len(), 3);
    assert!(undated.windows(2).all(|w| w[0].0 > w[1].0), "{undated:?}");

    // Pages of two: the same order, nothing twice, nothing left out.
    let pages = all_pages(&library, &Filters::default(), 2);
    assert_eq!(pages.iter().map(Vec::len).collect::<Vec<_>>(), [2, 2, 2, 2]);
    // Pages of three end between the twins.
    assert_eq!(all_pages(&library, &Filters::default(), 3).concat(), names);
    assert_eq!(pages.concat(), names);

    // Filters apply: PNGs only; one day of 2023.
    let pngs = Filters {
        formats: vec!["png".into()],
        ..Filters::default()
    };
    assert_eq!(all_pages(&library, &pngs, 2).concat(), names[5..]);
    // Formats are matched whatever their case, as the search's filters match them.
    let upper = Filters {
        formats: vec!["PNG".into()],
        ..Filters::default()
    };
    assert_eq!(all_pages(&library, &upper, 2).concat(), names[5..]);
    let january = Filters {
        taken_from: Some(clipstream_core::date::day_start("2023-01-02").expect("day")),
        taken_until: Some(clipstream_core::date::day_end("2023-01-02").expect("day")),
        ..Filters::default()
    };
    assert_eq!(
        all_pages(&library, &january, 2).concat(),
        ["c-2023-jan.jpg"]
    );

    // The cursor is a key, not a position: a photo of the first page deleted before the second
    // page is asked for shifts nothing.
    let first = library.list(&Filters::default(), None, 2).expect("lists");
    std::fs::remove_file(photos.join("a-2023-may.jpg")).expect("delete");
    index(&library);
    let second = library
        .list(&Filters::default(), first.next, 2)
        .expect("lists");
    assert_eq!(
        second
            .images
            .iter()
            .map(|h| name(&h.path))
            .collect::<Vec<_>>(),
        [names[2].as_str(), names[3].as_str()]
    );
    assert_eq!(
        clipstream_core::date::text(whole.images[0].taken_at.expect("dated")).as_deref(),
        Some("2023-05-20T10:00:00")
    );
}
