"""What the original project's stack does to a caffemodel at the least:
Google's protobuf Python (python3-protobuf) parses it and writes it back.

usage: pb_roundtrip.py PB_DIR IN.caffemodel OUT.caffemodel

PB_DIR holds caffe_pb2.py (protoc --python_out from src/proto/caffe.proto,
as tests/oracle/genweights.py makes it).  Prints the protobuf backend
(cpp, upb or python) on stderr.
"""
import sys


def main():
    if len(sys.argv) != 4:
        sys.exit("usage: pb_roundtrip.py PB_DIR IN.caffemodel OUT.caffemodel")
    sys.path.insert(0, sys.argv[1])
    import caffe_pb2
    from google.protobuf.internal import api_implementation

    sys.stderr.write("protobuf backend: %s\n" % api_implementation.Type())
    net = caffe_pb2.NetParameter()
    with open(sys.argv[2], "rb") as f:
        net.ParseFromString(f.read())
    with open(sys.argv[3], "wb") as f:
        f.write(net.SerializeToString())


if __name__ == "__main__":
    main()
