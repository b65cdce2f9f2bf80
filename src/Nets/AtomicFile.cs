using System.Text;

namespace GpuAe.Nets;

/// <summary>
/// Every file the program writes goes through here: into a temporary file beside the target, flushed to disk, then
/// renamed over it. A reader (or the next run) sees the old file or the new one, never half of one; when the write
/// fails (a full disk, a folder made read-only) the temporary file is removed, the old file is left as it was, and the
/// error goes on to the command line, which prints it as one line.
/// </summary>
public static class AtomicFile
{
    /// <summary>Writes <paramref name="path"/> by <paramref name="write"/>, which gets the temporary file's path (for
    /// libraries that save to a path, such as ScottPlot).</summary>
    public static void Write(string path, Action<string> write)
    {
        string temporary = Temporary(path);
        try
        {
            write(temporary);
            using (var file = new FileStream(temporary, FileMode.Open, FileAccess.ReadWrite)) file.Flush(flushToDisk: true);
            File.Move(temporary, path, overwrite: true);
        }
        catch
        {
            File.Delete(temporary);
            throw;
        }
    }

    /// <summary>Writes <paramref name="path"/> by <paramref name="write"/>, which gets the temporary file as a stream.</summary>
    public static void Write(string path, Action<Stream> write) => Write(path, (string temporary) =>
    {
        using var file = new FileStream(temporary, FileMode.Create, FileAccess.Write);
        write(file);
    });

    public static void WriteAllText(string path, string text) =>
        Write(path, (Stream file) => file.Write(new UTF8Encoding(encoderShouldEmitUTF8Identifier: false).GetBytes(text)));

    public static void WriteAllLines(string path, IEnumerable<string> lines) => WriteAllText(path, string.Concat(lines.Select(l => l + "\n")));

    /// <summary>Appends by rewriting: the file is either without the text or with all of it.</summary>
    public static void AppendAllText(string path, string text) => WriteAllText(path, (File.Exists(path) ? File.ReadAllText(path) : "") + text);

    /// <summary>Copies <paramref name="source"/> over <paramref name="path"/> by the same temporary file.</summary>
    public static void Copy(string source, string path) => Write(path, (string temporary) => File.Copy(source, temporary, overwrite: true));

    /// <summary>The temporary file of a target: hidden, beside it (so the rename stays on one file system), named
    /// after it, so that a leftover from a killed process is recognisable and overwritten by the next write.</summary>
    static string Temporary(string path) => Path.Combine(Path.GetDirectoryName(Path.GetFullPath(path))!, "." + Path.GetFileName(path) + ".partial");
}
