/// Figures keyed by a packed integer (entity index and period): an open-addressing index
/// (Fibonacci hashing, linear probing) over a dense array of values. Cheaper than a `Dictionary`
/// here: no SipHash per lookup, and 16 bytes of index per slot instead of a whole value, so the
/// slack a hash table needs costs little (a `Dictionary` of 120-byte values at its load factor
/// spent over 250 bytes per figure).
struct PackedTable<Element: Sendable>: Sendable {
    private struct Slot: Sendable {
        var key: UInt64 = 0
        var position: UInt32 = 0
    }

    private var slots: [Slot]
    private var shift: UInt64
    /// The nodes, in the order they were made, and their keys beside them.
    var nodes: [Element] = []
    private(set) var keys: [UInt64] = []

    init() {
        slots = Array(repeating: Slot(), count: 1024)
        shift = 64 - 10
    }

    var count: Int { nodes.count }

    private func home(_ key: UInt64) -> Int {
        Int(truncatingIfNeeded: (key &* 0x9E37_79B9_7F4A_7C15) >> shift)
    }

    /// Room for `count` values in all: the index made big enough at once (instead of doubling on
    /// the way) and the arrays reserved.
    mutating func reserveCapacity(_ count: Int) {
        nodes.reserveCapacity(count)
        keys.reserveCapacity(count)
        var size = slots.count
        while count * 10 > size * 7 { size *= 2 }
        if size > slots.count { grow(to: size) }
    }

    /// Where the node for `key` is, if there is one. Keys are never 0 (0 marks a free slot).
    func position(of key: UInt64) -> Int? {
        let mask = slots.count - 1
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot.key == key { return Int(slot.position) }
            if slot.key == 0 { return nil }
            index = (index + 1) & mask
        }
    }

    /// Where the value for `key` is, making one with `make` first if there is none.
    mutating func insert(_ key: UInt64, _ make: () -> Element) -> Int {
        precondition(key != 0)
        if (nodes.count + 1) * 10 > slots.count * 7 { grow() }
        let mask = slots.count - 1
        var index = home(key)
        while true {
            let slot = slots[index]
            if slot.key == key { return Int(slot.position) }
            if slot.key == 0 { break }
            index = (index + 1) & mask
        }
        let position = nodes.count
        slots[index] = Slot(key: key, position: UInt32(position))
        nodes.append(make())
        keys.append(key)
        return position
    }

    /// Removes the value for `key`, if any: the last value moves into its place (so values stay
    /// dense) and the index closes the gap by shifting back the slots that followed it.
    @discardableResult
    mutating func remove(_ key: UInt64) -> Element? {
        let mask = slots.count - 1
        var index = home(key)
        while slots[index].key != key {
            if slots[index].key == 0 { return nil }
            index = (index + 1) & mask
        }
        let position = Int(slots[index].position)
        let removed = nodes[position]
        let last = nodes.count - 1
        if position != last {
            nodes[position] = nodes[last]
            keys[position] = keys[last]
            var moved = home(keys[position])
            while slots[moved].key != keys[position] { moved = (moved + 1) & mask }
            slots[moved].position = UInt32(position)
        }
        nodes.removeLast()
        keys.removeLast()
        // Backward-shift deletion: a slot further on moves into the hole when its home does not
        // lie between the hole and it.
        var hole = index
        var next = (hole + 1) & mask
        while slots[next].key != 0 {
            let wanted = home(slots[next].key)
            let between = hole <= next ? (hole < wanted && wanted <= next) : (hole < wanted || wanted <= next)
            if !between {
                slots[hole] = slots[next]
                hole = next
            }
            next = (next + 1) & mask
        }
        slots[hole] = Slot()
        return removed
    }

    private mutating func grow() {
        grow(to: slots.count * 2)
    }

    /// A new index of `size` slots (a power of two) with every key placed again.
    private mutating func grow(to size: Int) {
        let old = slots
        slots = Array(repeating: Slot(), count: size)
        shift = UInt64(64 - size.trailingZeroBitCount)
        let mask = slots.count - 1
        for slot in old where slot.key != 0 {
            var index = home(slot.key)
            while slots[index].key != 0 { index = (index + 1) & mask }
            slots[index] = slot
        }
    }
}

/// A book's figures.
typealias NodeTable = PackedTable<FigureBook.Node>

extension PackedTable where Element == FigureBook.Node {
    /// Where the node for `key` is, making an empty one first if there is none.
    mutating func insert(_ key: UInt64) -> Int {
        insert(key) { FigureBook.Node() }
    }
}
