using System.Buffers.Binary;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuAe.Kernels;

namespace GpuAe.Nets.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the raw little-endian float32 data. PyTorch users read it with a few lines of numpy.
/// Writes go to a temporary file that is flushed and renamed over the target, so a crash never leaves half a file.
/// The metadata's <see cref="ContentHashKey"/> is a SHA-256 of everything else in the file (see <see cref="ContentHash"/>):
/// a checkpoint damaged on disk or in transfer is refused instead of loaded with other numbers. Files without it (written
/// by other tools) are read unverified.
/// </summary>
public static class SafeTensors
{
    public const string ContentHashKey = "content_sha256";

    /// <summary>The content hash: SHA-256 over the metadata (every key but <see cref="ContentHashKey"/>, in ordinal order,
    /// as "key=value\n"), then each tensor in the header's order as "name|dtype|shape|begin|end\n" (shape's sizes
    /// comma-separated, the byte range of the data buffer), then the data buffer itself. bench/strip-moments.py
    /// computes the same.</summary>
    static string ContentHash(IReadOnlyDictionary<string, string> metadata, IEnumerable<(string Name, int[] Shape, long Begin, long End)> tensors,
        IEnumerable<ReadOnlyMemory<byte>> data)
    {
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var (key, value) in metadata.Where(kv => kv.Key != ContentHashKey).OrderBy(kv => kv.Key, StringComparer.Ordinal))
            hash.AppendData(Encoding.UTF8.GetBytes($"{key}={value}\n"));
        foreach (var (name, shape, begin, end) in tensors)
            hash.AppendData(Encoding.UTF8.GetBytes($"{name}|F32|{string.Join(",", shape)}|{begin}|{end}\n"));
        foreach (var chunk in data) hash.AppendData(chunk.Span);
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var list = tensors.ToList();
        var layout = new List<(string, int[], long, long)>();
        var data = new List<ReadOnlyMemory<byte>>();
        long offset = 0;
        foreach (var (name, shape, values) in list)
        {
            var bytes = new byte[values.Length * 4];
            for (int i = 0; i < values.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), values[i]);
            layout.Add((name, shape, offset, offset + bytes.Length));
            data.Add(bytes);
            offset += bytes.Length;
        }
        var header = new JsonObject { ["__metadata__"] = new JsonObject(metadata.Where(kv => kv.Key != ContentHashKey)
            .Append(KeyValuePair.Create(ContentHashKey, ContentHash(metadata, layout, data)))
            .Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
        foreach (var (name, shape, begin, end) in layout)
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(s => (JsonNode?)s).ToArray()),
                ["data_offsets"] = new JsonArray(begin, end),
            };
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to keep the data 8-byte aligned
        var headerBytes = new byte[padded];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);

        AtomicFile.Write(path, file =>
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            file.Write(length);
            file.Write(headerBytes);
            foreach (var chunk in data) file.Write(chunk.Span);
        });
    }

    public sealed record Contents(Dictionary<string, (int[] Shape, float[] Data)> Tensors, Dictionary<string, string> Metadata);

    public static Contents Read(string path)
    {
        if (!File.Exists(path)) throw new UserError($"checkpoint not found: {path}");
        var bytes = File.ReadAllBytes(path);
        try
        {
            if (bytes.Length < 8) throw new FormatException("shorter than the 8-byte header length");
            ulong headerLength = BinaryPrimitives.ReadUInt64LittleEndian(bytes);
            if (headerLength > (ulong)(bytes.Length - 8)) throw new FormatException("header length runs past the end of the file");
            var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength)) as JsonObject
                         ?? throw new FormatException("the header is not a JSON object");
            long dataStart = 8 + (long)headerLength;
            var tensors = new Dictionary<string, (int[], float[])>();
            var metadata = new Dictionary<string, string>();
            var layout = new List<(string Name, int[] Shape, long Begin, long End)>();
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node as JsonObject ?? throw new FormatException("__metadata__ is not an object"))
                        metadata[k] = v?.GetValueKind() == JsonValueKind.String ? v.GetValue<string>() : throw new FormatException($"metadata '{k}' is not a string");
                    continue;
                }
                if (node?["dtype"]?.GetValueKind() != JsonValueKind.String || (string?)node["dtype"] != "F32") throw new FormatException($"tensor {name} is not F32");
                int[] shape = Integers(node["shape"], name, "shape").Select(d => d is >= 0 and <= int.MaxValue ? (int)d : throw new FormatException($"tensor {name} has a size {d}")).ToArray();
                long[] offsets = Integers(node["data_offsets"], name, "data_offsets");
                long count = checked(shape.Aggregate(1L, (a, b) => a * b));
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] < offsets[0] || offsets[1] - offsets[0] != checked(4 * count) || offsets[1] > bytes.Length - dataStart)
                    throw new FormatException($"tensor {name} has a byte range that does not match its shape or the file size");
                layout.Add((name, shape, offsets[0], offsets[1]));
                var data = new float[count];
                for (long i = 0; i < count; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(dataStart + offsets[0] + 4 * i)));
                tensors[name] = (shape, data);
            }
            // The format's byte buffer is indexed entirely, without holes or overlaps.
            long next = 0;
            foreach (var (name, _, begin, end) in layout.OrderBy(r => r.Begin))
            {
                if (begin != next) throw new FormatException($"tensor {name} starts at byte {begin} of the data, not at {next}: the byte ranges overlap or leave a hole");
                next = end;
            }
            if (dataStart + next != bytes.Length) throw new FormatException($"the data has {bytes.Length - dataStart} bytes but the tensors cover {next}");
            if (metadata.TryGetValue(ContentHashKey, out var expected)
                && ContentHash(metadata, layout, [bytes.AsMemory((int)dataStart)]) != expected)
                throw new FormatException($"its content does not match its {ContentHashKey}");
            return new Contents(tensors, metadata);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or ArgumentException or OverflowException)
        {
            throw new UserError($"{path} is not a readable safetensors checkpoint ({e.Message}): it may be truncated or corrupt; use another checkpoint or retrain");
        }
    }

    /// <summary>A header field that must be an array of integers.</summary>
    static long[] Integers(JsonNode? node, string tensor, string field) =>
        node is JsonArray array && array.All(n => n?.GetValueKind() == JsonValueKind.Number)
            ? [.. array.Select(n => n!.GetValue<long>())]
            : throw new FormatException($"tensor {tensor}'s {field} is not a list of integers");
}
