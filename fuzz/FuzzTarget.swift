// The libFuzzer entry point: every input goes through `UntrustedInput.exercise`, the paths a
// service takes with the bytes of a request. Built and run by scripts/fuzz.
import DeliveryCore
import TestSupport

let book = UntrustedInput.book()

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    UntrustedInput.exercise(Array(UnsafeBufferPointer(start: data, count: size)), book: book)
    return 0
}
