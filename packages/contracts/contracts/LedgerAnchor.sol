// SPDX-License-Identifier: Apache-2.0
pragma solidity ^0.8.24;

/// @title LedgerAnchor
/// @notice Anchors the signed checkpoints of one Patron transparency log (RFC 9162) on an EVM
/// chain: an append-only map from tree size to Merkle root. Anyone holding a checkpoint or a
/// receipt can compare its root with the one anchored here for the same size, so a log operator
/// who later shows a different tree at an anchored size is caught by the chain, not by trust.
/// @dev One deployment per log. Sizes are 64-bit to match RFC 9162 tree sizes.
contract LedgerAnchor {
    /// @notice The only address allowed to anchor: the log's anchoring key.
    address public immutable anchorer;

    /// @notice The log this contract anchors, as named in its checkpoints' origin line
    /// (C2SP tlog-checkpoint), so an anchor cannot be mistaken for another log's.
    string public origin;

    /// @notice The largest tree size anchored so far; zero before the first anchor.
    uint64 public latestSize;

    mapping(uint64 size => bytes32 root) private _roots;

    /// @notice A root was anchored for a tree size.
    /// @param size The tree size; indexed so verifiers can look up one size without a full scan.
    /// @param root The RFC 9162 Merkle tree hash of the first `size` entries.
    event Anchored(uint64 indexed size, bytes32 root);

    /// @notice The caller is not the anchoring key.
    error NotAnchorer(address caller);

    /// @notice The size does not exceed the latest anchored size. Anchors only move forward:
    /// rewriting or back-filling a root would defeat the point of anchoring.
    error SizeNotIncreasing(uint64 size, uint64 latest);

    /// @notice A zero root was given. Zero is what `rootAt` returns for a size never anchored,
    /// so it must never be stored.
    error ZeroRoot();

    /// @param anchorer_ The log's anchoring key, the only address that may call `anchor`.
    /// @param origin_ The log's checkpoint origin line.
    constructor(address anchorer_, string memory origin_) {
        anchorer = anchorer_;
        origin = origin_;
    }

    /// @notice Anchors `root` as the Merkle root of the log at tree size `size`.
    /// @dev Sizes must strictly increase, which also makes every stored root immutable.
    /// @param size The tree size of the checkpoint; must exceed `latestSize`.
    /// @param root The checkpoint's root hash; must be non-zero.
    function anchor(uint64 size, bytes32 root) external {
        if (msg.sender != anchorer) revert NotAnchorer(msg.sender);
        uint64 latest = latestSize;
        if (size <= latest) revert SizeNotIncreasing(size, latest);
        if (root == bytes32(0)) revert ZeroRoot();
        _roots[size] = root;
        latestSize = size;
        emit Anchored(size, root);
    }

    /// @notice The root anchored for tree size `size`.
    /// @param size A tree size.
    /// @return The anchored root, or zero when that size was never anchored.
    function rootAt(uint64 size) external view returns (bytes32) {
        return _roots[size];
    }
}
