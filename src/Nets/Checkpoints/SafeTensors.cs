using System.Buffers.Binary;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using GpuAe.Kernels;

namespace GpuAe.Nets.Checkpoints;

/// <summary>
/// The safetensors format: an 8-byte little-endian header length, a JSON header naming each tensor's dtype, shape
/// and byte range, then the raw little-endian float32 data. PyTorch users read it with a few lines of numpy.
/// Writes go to a temporary file that is flushed and renamed over the target, so a crash never leaves half a file.
/// </summary>
public static class SafeTensors
{
    public static void Write(string path, IEnumerable<(string Name, int[] Shape, float[] Data)> tensors, IReadOnlyDictionary<string, string> metadata)
    {
        var list = tensors.ToList();
        var header = new JsonObject { ["__metadata__"] = new JsonObject(metadata.Select(kv => KeyValuePair.Create(kv.Key, (JsonNode?)kv.Value))) };
        long offset = 0;
        foreach (var (name, shape, data) in list)
        {
            long end = offset + 4L * data.Length;
            header[name] = new JsonObject
            {
                ["dtype"] = "F32",
                ["shape"] = new JsonArray(shape.Select(s => (JsonNode?)s).ToArray()),
                ["data_offsets"] = new JsonArray(offset, end),
            };
            offset = end;
        }
        var json = Encoding.UTF8.GetBytes(header.ToJsonString());
        int padded = (json.Length + 7) / 8 * 8; // the format pads the header with spaces to keep the data 8-byte aligned
        var headerBytes = new byte[padded];
        Array.Fill(headerBytes, (byte)' ');
        json.CopyTo(headerBytes, 0);

        string temporary = path + ".tmp";
        using (var file = new FileStream(temporary, FileMode.Create, FileAccess.Write))
        {
            Span<byte> length = stackalloc byte[8];
            BinaryPrimitives.WriteUInt64LittleEndian(length, (ulong)padded);
            file.Write(length);
            file.Write(headerBytes);
            foreach (var (_, _, data) in list)
            {
                var bytes = new byte[data.Length * 4];
                for (int i = 0; i < data.Length; i++) BinaryPrimitives.WriteSingleLittleEndian(bytes.AsSpan(4 * i), data[i]);
                file.Write(bytes);
            }
            file.Flush(flushToDisk: true);
        }
        File.Move(temporary, path, overwrite: true);
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
            var header = JsonNode.Parse(Encoding.UTF8.GetString(bytes, 8, (int)headerLength))!.AsObject();
            long dataStart = 8 + (long)headerLength;
            var tensors = new Dictionary<string, (int[], float[])>();
            var metadata = new Dictionary<string, string>();
            var ranges = new List<(long Begin, long End, string Name)>();
            foreach (var (name, node) in header)
            {
                if (name == "__metadata__")
                {
                    foreach (var (k, v) in node!.AsObject()) metadata[k] = v!.GetValue<string>();
                    continue;
                }
                if ((string?)node!["dtype"] != "F32") throw new FormatException($"tensor {name} is not F32");
                var shape = node["shape"]!.AsArray().Select(s => s!.GetValue<int>()).ToArray();
                var offsets = node["data_offsets"]!.AsArray().Select(s => s!.GetValue<long>()).ToArray();
                long count = shape.Aggregate(1L, (a, b) => a * b);
                if (offsets.Length != 2 || offsets[0] < 0 || offsets[1] - offsets[0] != 4 * count || dataStart + offsets[1] > bytes.Length)
                    throw new FormatException($"tensor {name} has a byte range that does not match its shape or the file size");
                ranges.Add((offsets[0], offsets[1], name));
                var data = new float[count];
                for (long i = 0; i < count; i++) data[i] = BinaryPrimitives.ReadSingleLittleEndian(bytes.AsSpan((int)(dataStart + offsets[0] + 4 * i)));
                tensors[name] = (shape, data);
            }
            // The format's byte buffer is indexed entirely, without holes or overlaps.
            long next = 0;
            foreach (var (begin, end, name) in ranges.OrderBy(r => r.Begin))
            {
                if (begin != next) throw new FormatException($"tensor {name} starts at byte {begin} of the data, not at {next}: the byte ranges overlap or leave a hole");
                next = end;
            }
            if (dataStart + next != bytes.Length) throw new FormatException($"the data has {bytes.Length - dataStart} bytes but the tensors cover {next}");
            return new Contents(tensors, metadata);
        }
        catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException or NullReferenceException or IndexOutOfRangeException)
        {
            throw new UserError($"{path} is not a readable safetensors checkpoint ({e.Message}): it may be truncated or corrupt; use another checkpoint or retrain");
        }
    }
}
