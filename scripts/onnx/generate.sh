#!/usr/bin/env bash
# Regenerates Sources/ModelExport/onnx-ml.pb.swift from scripts/onnx/onnx-ml.proto (ONNX's own
# schema, copied from the onnx Python package: python3 -c "import onnx, os; print(os.path.dirname(onnx.__file__))").
# Run only when the schema changes; the generated file is committed so that builds need neither
# protoc nor swift-protobuf's plugin. Needs protoc (apt-get install protobuf-compiler).
set -euo pipefail
cd "$(dirname "$0")/../.."
version=$(sed -n 's/.*swift-protobuf", from: "\([0-9.]*\)".*/\1/p' Package.swift)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
git clone -q https://github.com/apple/swift-protobuf "$work/swift-protobuf"
git -C "$work/swift-protobuf" checkout -q "$version"
(cd "$work/swift-protobuf" && swift build -c release --product protoc-gen-swift)
protoc --plugin=protoc-gen-swift="$work/swift-protobuf/.build/release/protoc-gen-swift" \
    --swift_out=Visibility=Package:"$work" -I scripts/onnx scripts/onnx/onnx-ml.proto
cp "$work/onnx-ml.pb.swift" Sources/ModelExport/onnx-ml.pb.swift
echo "regenerated Sources/ModelExport/onnx-ml.pb.swift with swift-protobuf $version"
