import DeliveryMessages
import ZeroMQ

/// FlyingFox has a `JSONValue` of its own; in this module the name means the protocol's.
typealias JSONValue = DeliveryMessages.JSONValue
/// FlyingSocks has a `Socket` too; here it is the ZeroMQ one.
typealias Socket = ZeroMQ.Socket
