//! Acting on chosen photos: copies into a folder never overwrite a file already there.

use crate::common;

use clipstream_core::Filters;
use common::{index, open_library, shape};

#[test]
fn copies_go_into_the_folder_under_free_names_and_touch_nothing_there() {
    let tmp = tempfile::tempdir().expect("tempdir");
    let photos = tmp.path().join("photos");
    std::fs::create_dir_all(photos.join("other")).expect("mkdir");
    std::fs::copy(shape(5), photos.join("a.png")).expect("copy");
    // Another photo with the same name in another folder.
    std::fs::copy(shape(6), photos.join("other/a.png")).expect("copy");
    let library = open_library(&tmp.path().join("lib"));
    library.add_folder(&photos).expect("adds");
    index(&library);
    let ids: Vec<i64> = library
        .list(&Filters::default(), None, 10)
        .expect("lists")
        .images
        .iter()
        .map(|h| h.id)
        .collect();
    assert_eq!(ids.len(), 2);

    let destination = tmp.path().join("chosen");
    std::fs::create_dir(&destination).expect("mkdir");
    std::fs::write(destination.join("a.png"), b"already here").expect("write");
    let copies = library.copy_images(&ids, &destination).expect("copies");
    assert_eq!(
        copies,
        [destination.join("a (2).png"), destination.join("a (3).png")]
    );
    assert_eq!(
        std::fs::read(destination.join("a.png")).expect("read"),
        b"already here"
    );
    for (id, copy) in ids.iter().zip(&copies) {
        let source = library.image(*id).expect("catalogued").path;
        assert_eq!(
            std::fs::read(copy).expect("copy"),
            std::fs::read(source).expect("source")
        );
    }
    // A destination that is not a folder is refused, and nothing is written.
    let err = library
        .copy_images(&ids, &tmp.path().join("missing"))
        .expect_err("refused");
    assert!(err.to_string().contains("is not a folder"), "{err}");
}
