import DeliveryMessages
import ZeroMQ

/// `Socket` here is the ZeroMQ one.
typealias Socket = ZeroMQ.Socket
