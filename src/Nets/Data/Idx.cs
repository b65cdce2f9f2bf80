using System.Buffers.Binary;
using System.IO.Compression;
using GpuAe.Kernels;

namespace GpuAe.Nets.Data;

/// <summary>Reads the IDX files Fashion-MNIST ships (gzip'd, big-endian header: magic, dimension sizes, then raw bytes).</summary>
public static class Idx
{
    public const int ImagesMagic = 0x00000803; // unsigned byte, 3 dimensions
    public const int LabelsMagic = 0x00000801; // unsigned byte, 1 dimension

    /// <summary>Images as floats in [0,1], one row of rows·cols pixels per image.</summary>
    public static (float[] Pixels, int Count, int Rows, int Cols) ReadImages(string path)
    {
        var bytes = ReadGzip(path);
        var dims = ReadHeader(path, bytes, ImagesMagic, 3);
        int count = dims[0], rows = dims[1], cols = dims[2];
        int size = rows * cols;
        CheckLength(path, bytes, 16, (long)count * size, $"{count} images of {rows}×{cols}");
        var pixels = new float[(long)count * size];
        for (int i = 0; i < pixels.Length; i++) pixels[i] = bytes[16 + i] / 255f;
        return (pixels, count, rows, cols);
    }

    public static byte[] ReadLabels(string path)
    {
        var bytes = ReadGzip(path);
        int count = ReadHeader(path, bytes, LabelsMagic, 1)[0];
        CheckLength(path, bytes, 8, count, $"{count} labels");
        return bytes.AsSpan(8, count).ToArray();
    }

    static byte[] ReadGzip(string path)
    {
        if (!File.Exists(path)) throw new UserError($"data file not found: {path}");
        try
        {
            var compressed = File.ReadAllBytes(path);
            using var gzip = new GZipStream(new MemoryStream(compressed), CompressionMode.Decompress);
            using var memory = new MemoryStream();
            gzip.CopyTo(memory);
            // .NET stops quietly at the end of a cut stream; a whole one ends with its length mod 2³² (the gzip trailer).
            if (compressed.Length < 18 || System.Buffers.Binary.BinaryPrimitives.ReadUInt32LittleEndian(compressed.AsSpan(^4)) != (uint)memory.Length)
                throw new InvalidDataException("the gzip trailer does not match the data: the file is cut short");
            return memory.ToArray();
        }
        catch (InvalidDataException)
        {
            throw new UserError($"{path} is not a valid gzip file (corrupt or truncated download?): reinstall with `apt-get install --reinstall dataset-fashion-mnist`");
        }
    }

    static int[] ReadHeader(string path, byte[] bytes, int magic, int dimensions)
    {
        int headerLength = 4 + 4 * dimensions;
        if (bytes.Length < headerLength) throw new UserError($"{path} is too short to be an IDX file ({bytes.Length} bytes)");
        int found = BinaryPrimitives.ReadInt32BigEndian(bytes);
        if (found != magic)
            throw new UserError($"{path} has IDX magic 0x{found:X8}, expected 0x{magic:X8} ({(magic == ImagesMagic ? "images" : "labels")} file): is it the right file?");
        var dims = new int[dimensions];
        for (int d = 0; d < dimensions; d++)
        {
            dims[d] = BinaryPrimitives.ReadInt32BigEndian(bytes.AsSpan(4 + 4 * d));
            if (dims[d] < 0) throw new UserError($"{path} declares a negative dimension size {dims[d]}");
        }
        return dims;
    }

    static void CheckLength(string path, byte[] bytes, int header, long expected, string what)
    {
        if (bytes.Length - header != expected)
            throw new UserError($"{path} declares {what} ({expected} bytes) but holds {bytes.Length - header} bytes: the file is truncated or corrupt");
    }
}
