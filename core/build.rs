//! Generates the ONNX protobuf types (`onnx.proto`, vendored from the onnx 1.23 package) that the
//! model import writes its graphs with. protox compiles the .proto in Rust: no protoc binary.

fn main() {
    let proto = "proto/onnx.proto";
    println!("cargo:rerun-if-changed={proto}");
    let files = protox::compile([proto], ["proto"]).expect("onnx.proto compiles");
    prost_build::Config::new()
        .compile_fds(files)
        .expect("prost generates the ONNX types");
}
