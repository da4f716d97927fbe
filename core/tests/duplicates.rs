//! Duplicates: identical files (same content under several paths) and near-identical photos
//! (a resized copy, a re-encoded copy) are grouped, each with the suggested keeper first;
//! different photos are not.

use crate::common;

use std::path::Path;

use clipstream_core::query::duplicates::{DEFAULT_THRESHOLD, Kind};
use common::{index, open_library, shape};

fn name(path: &Path) -> String {
    path.strip_prefix(path.parent().and_then(Path::parent).expect("two levels"))
        .expect("inside")
        .to_string_lossy()
        .into_owned()
}

#[test]
fn identical_and_near_identical_photos_are_grouped_with_the_keeper_first() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(photos.join("sub")).expect("mkdir");
    // 40 different shapes: none of them duplicates of another.
    for i in 0..40 {
        std::fs::copy(shape(i * 7), photos.join(format!("{:05}.png", i * 7))).expect("copy");
    }
    // An identical copy elsewhere, a copy at half size, a copy re-encoded as JPEG.
    std::fs::copy(shape(7), photos.join("sub/copy-of-7.png")).expect("copy");
    let original = image::open(shape(14)).expect("decodes");
    original
        .resize(
            original.width() / 2,
            original.height() / 2,
            image::imageops::FilterType::Triangle,
        )
        .save(photos.join("sub/small-14.png"))
        .expect("saves");
    image::open(shape(21))
        .expect("decodes")
        .to_rgb8()
        .save(photos.join("sub/reencoded-21.jpg"))
        .expect("saves");

    let library = open_library(&tmp.path().join("lib"));
    library.add_folder(&photos).expect("adds");
    index(&library);

    let mut groups: Vec<(Kind, Vec<String>)> = library
        .duplicates(DEFAULT_THRESHOLD)
        .expect("groups")
        .into_iter()
        .map(|g| (g.kind, g.images.iter().map(|m| name(&m.path)).collect()))
        .collect();
    groups.sort_by(|a, b| a.1.cmp(&b.1));
    assert_eq!(
        groups,
        [
            (
                Kind::Identical,
                vec![
                    "photos/00007.png".to_string(),
                    "sub/copy-of-7.png".to_string()
                ]
            ),
            (
                Kind::Similar,
                vec![
                    "photos/00014.png".to_string(),
                    "sub/small-14.png".to_string()
                ]
            ),
            // Same size: the lossless original before its JPEG re-encode.
            (
                Kind::Similar,
                vec![
                    "photos/00021.png".to_string(),
                    "sub/reencoded-21.jpg".to_string()
                ]
            ),
        ]
    );
    // A threshold of 1 leaves only identical content.
    let strict = library.duplicates(1.0).expect("groups");
    assert_eq!(
        strict.iter().map(|g| g.kind).collect::<Vec<_>>(),
        [Kind::Identical]
    );
}
