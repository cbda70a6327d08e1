import CZeroMQ

/// The version of the libzmq this process runs with, for `status` replies.
public var zeroMQVersion: String {
    var major: Int32 = 0
    var minor: Int32 = 0
    var patch: Int32 = 0
    zmq_version(&major, &minor, &patch)
    return "\(major).\(minor).\(patch)"
}

/// Whether this libzmq was built with CURVE security.
public var zeroMQHasCurve: Bool { zmq_has("curve") == 1 }
