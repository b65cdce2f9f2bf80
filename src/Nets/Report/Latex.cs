using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;
using GpuAe.Kernels;

namespace GpuAe.Nets.Report;

/// <summary>The study's text in LaTeX: inline Markdown and Unicode maths made LaTeX, the document's blocks as LaTeX, and
/// pdflatex run on what <see cref="ReportTex"/> and <see cref="SlidesTex"/> write.</summary>
public static partial class Latex
{
    public const string ReportPdf = "report.pdf", SlidesPdf = "slides.pdf";
    /// <summary>Where pdflatex writes its logs and auxiliary files, inside the report's folder.</summary>
    public const string BuildFolder = "latex";
    public const string Install = "apt-get install --no-install-recommends texlive-latex-recommended texlive-pictures";

    /// <summary>Characters that are not plain ASCII, as LaTeX. Latin-1 letters (é) pass through pdflatex's UTF-8 input;
    /// any other character not listed here is a bug of the writer, reported by <see cref="Inline"/>.</summary>
    static readonly Dictionary<char, string> Symbols = new()
    {
        ['−'] = "\\ensuremath{-}", ['±'] = "\\ensuremath{\\pm}", ['×'] = "\\ensuremath{\\times}", ['·'] = "\\ensuremath{\\cdot}",
        ['→'] = "\\ensuremath{\\to}", ['‖'] = "\\ensuremath{\\|}", ['≤'] = "\\ensuremath{\\le}", ['≥'] = "\\ensuremath{\\ge}",
        ['≈'] = "\\ensuremath{\\approx}", ['÷'] = "\\ensuremath{\\div}", ['≠'] = "\\ensuremath{\\ne}", ['√'] = "\\ensuremath{\\surd}", ['Σ'] = "\\ensuremath{\\Sigma}",
        ['½'] = "\\ensuremath{\\frac12}", ['μ'] = "\\ensuremath{\\mu}", ['σ'] = "\\ensuremath{\\sigma}", ['β'] = "\\ensuremath{\\beta}",
        ['ε'] = "\\ensuremath{\\varepsilon}", ['α'] = "\\ensuremath{\\alpha}", ['λ'] = "\\ensuremath{\\lambda}", ['γ'] = "\\ensuremath{\\gamma}",
        ['Φ'] = "\\ensuremath{\\Phi}", ['…'] = "\\ldots{}", ['—'] = "---", ['–'] = "--", ['‘'] = "`", ['’'] = "'", ['“'] = "``", ['”'] = "''",
        ['\u00A0'] = "~",
    };

    /// <summary>Greek small letters as math (those with their own form above win).</summary>
    static readonly string Greek = "αβγδεζηθικλμνξοπρστυφχψω";
    static readonly string[] GreekNames =
        ["alpha", "beta", "gamma", "delta", "epsilon", "zeta", "eta", "theta", "iota", "kappa", "lambda", "mu", "nu", "xi", "o", "pi", "rho", "sigma",
            "tau", "upsilon", "phi", "chi", "psi", "omega"];

    /// <summary>Superscript and subscript digits and signs; a run of them becomes one ^{…} or _{…}.</summary>
    const string Superscripts = "⁰¹²³⁴⁵⁶⁷⁸⁹⁻⁺ᵀ", Subscripts = "₀₁₂₃₄₅₆₇₈₉₋₊";
    const string Scripted = "0123456789-+T";

    /// <summary>Plain text as LaTeX: TeX's special characters escaped, Unicode maths as math; a tilde is "distributed as"
    /// (z ~ N(0, I)) in text and a tilde in <paramref name="code"/>.</summary>
    public static string Escape(string text, bool code = false)
    {
        var t = new StringBuilder();
        for (int i = 0; i < text.Length; i++)
        {
            char c = text[i];
            int sup = Superscripts.IndexOf(c), sub = Subscripts.IndexOf(c);
            if (sup >= 0 || sub >= 0)
            {
                string marks = sup >= 0 ? Superscripts : Subscripts;
                var run = new StringBuilder();
                for (; i < text.Length && marks.IndexOf(text[i]) is int k && k >= 0; i++) run.Append(Scripted[k]);
                i--;
                t.Append("\\ensuremath{").Append(sup >= 0 ? "^{" : "_{").Append(run).Append("}}");
                continue;
            }
            t.Append(c switch
            {
                '\\' => "\\textbackslash{}",
                '{' or '}' or '_' or '%' or '&' or '#' or '$' => "\\" + c,
                '~' => code ? "\\textasciitilde{}" : "\\ensuremath{\\sim}",
                '^' => "\\textasciicircum{}",
                // The default (OT1) fonts put other glyphs at these positions.
                '|' => "\\textbar{}",
                '<' => "\\textless{}",
                '>' => "\\textgreater{}",
                '"' => "\"", // turned into `` and '' by Inline
                _ when c < 128 || (c >= 'À' && c <= 'ÿ' && c != '×' && c != '÷') => c.ToString(),
                _ when Symbols.TryGetValue(c, out var latex) => latex,
                _ when Greek.IndexOf(c) is >= 0 and var g => g == 14 ? "o" : $"\\ensuremath{{\\{GreekNames[g]}}}",
                _ => throw new InvalidOperationException($"Latex: no LaTeX for the character '{c}' (U+{(int)c:X4}); add it to Latex.Symbols"),
            });
        }
        return t.ToString();
    }

    [GeneratedRegex(@"`([^`]*)`|\*\*(.+?)\*\*|\[([^\]]+)\]\(([^)\s]+)\)")]
    private static partial Regex InlineMarkup();

    /// <summary>Inline Markdown as LaTeX: `code` in typewriter, **bold**, [text](link) as a link, straight double quotes
    /// as opening and closing quotes, the rest escaped.</summary>
    public static string Inline(string markdown)
    {
        var t = new StringBuilder();
        int at = 0;
        foreach (Match m in InlineMarkup().Matches(markdown))
        {
            t.Append(Escape(markdown[at..m.Index]));
            if (m.Groups[1].Success) t.Append("\\texttt{").Append(Escape(m.Groups[1].Value, code: true).Replace("-", "-{}")).Append('}');
            else if (m.Groups[2].Success) t.Append("\\textbf{").Append(Inline(m.Groups[2].Value)).Append('}');
            else t.Append("\\href{").Append(Escape(m.Groups[4].Value)).Append("}{").Append(Inline(m.Groups[3].Value)).Append('}');
            at = m.Index + m.Length;
        }
        t.Append(Escape(markdown[at..]));
        // Straight double quotes in turn: opening, closing.
        var quoted = new StringBuilder();
        bool open = true;
        foreach (char c in t.ToString())
        {
            if (c != '"') { quoted.Append(c); continue; }
            quoted.Append(open ? "``" : "''");
            open = !open;
        }
        return quoted.ToString();
    }

    /// <summary>A length factor as TeX reads it ("0.56", whatever the culture).</summary>
    public static string Number(double value) => value.ToString("0.###", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>A paragraph's or list's lines, a table as booktabs, a figure at <paramref name="width"/>.</summary>
    public static string Block(Block block, string figureWidth = "\\linewidth") => block switch
    {
        Paragraph p => Inline(p.Text) + "\n\n",
        Bullets b => "\\begin{itemize}\n" + string.Concat(b.Items.Select(i => "\\item " + Inline(i.Text) + "\n")) + "\\end{itemize}\n",
        Table table => Tabular(table),
        Figure f => $"\\includegraphics[width={figureWidth}]{{{f.File}}}\n\n",
        _ => throw new ArgumentOutOfRangeException(nameof(block)),
    };

    /// <summary>A booktabs tabular: the first column left-aligned, the numbers right-aligned.</summary>
    public static string Tabular(Table table)
    {
        var t = new StringBuilder();
        t.Append("\\begin{tabular}{l").Append('r', table.Headings.Count - 1).Append("}\n\\toprule\n");
        t.Append(string.Join(" & ", table.Headings.Select(Inline))).Append(" \\\\\n\\midrule\n");
        foreach (var row in table.Rows) t.Append(string.Join(" & ", row.Select(Inline))).Append(" \\\\\n");
        return t.Append("\\bottomrule\n\\end{tabular}\n").ToString();
    }

    /// <summary>The preamble both documents share: UTF-8 text with extractable glyphs, graphics, tables, links.</summary>
    public const string Packages =
        "\\usepackage{graphicx}\n\\usepackage{booktabs}\n\\usepackage{microtype}\n\\input{glyphtounicode}\n\\pdfgentounicode=1\n" +
        // \fitwidth{…}: its content at its natural size, or shrunk to the line where it is wider.
        "\\newsavebox\\fitbox\n\\newcommand\\fitwidth[1]{\\sbox\\fitbox{#1}\\ifdim\\wd\\fitbox>\\linewidth\\resizebox{\\linewidth}{!}{\\usebox\\fitbox}\\else\\usebox\\fitbox\\fi}\n";

    /// <summary>Writes report.tex and slides.tex into the report's folder and compiles them to PDF with pdflatex. Without
    /// pdflatex the .tex files are still written and one line says how to install it; under CI=true that is an error.
    /// Returns the files written. <paramref name="pdflatex"/>: <see cref="FindPdflatex"/>'s; <paramref name="ci"/>:
    /// <see cref="UnderCi"/>.</summary>
    public static List<string> Publish(string folder, ReportDocument doc, ReportSummary s, ReportOptions o, TextWriter log, string? pdflatex, bool ci)
    {
        var sources = new[] { (ReportTex.Name, ReportTex.Write(doc, s, o)), (SlidesTex.Name, SlidesTex.Write(doc, s, o)) };
        foreach (var (name, tex) in sources) AtomicFile.WriteAllText(Path.Combine(folder, name + ".tex"), tex);
        var files = sources.Select(x => x.Item1 + ".tex").ToList();
        if (pdflatex is null)
        {
            string missing = $"pdflatex is not installed, so {ReportTex.Name}.tex and {SlidesTex.Name}.tex are written but not compiled: install it " +
                             $"(`{Install}`, or run ./setup.sh) and run the report again";
            if (ci) throw new UserError(missing + " (CI=true: the PDFs are part of the report)");
            log.WriteLine("gpuae: " + missing);
            return files;
        }
        // Side by side: pdflatex runs on one core, and the slides take about twice the report's time.
        foreach (var (name, _) in sources) log.WriteLine($"gpuae: compiling {name}.tex with pdflatex");
        var compilations = sources.Select(x => Task.Run(() => Compile(pdflatex, folder, x.Item1))).ToArray();
        try { Task.WaitAll(compilations); }
        catch (AggregateException e) { System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(e.InnerExceptions[0]); }
        files.AddRange(sources.Select(x => x.Item1 + ".pdf"));
        return files;
    }

    /// <summary>Whether this runs under CI (CI=true), where the PDFs are required.</summary>
    public static bool UnderCi => Environment.GetEnvironmentVariable("CI") == "true";

    /// <summary>pdflatex found on the PATH, or null.</summary>
    public static string? FindPdflatex() =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries)
            .Select(d => Path.Combine(d, "pdflatex")).FirstOrDefault(File.Exists);

    /// <summary>Compiles FOLDER/NAME.tex to FOLDER/NAME.pdf: pdflatex twice, the first in draft mode (it only writes the
    /// auxiliary files the second reads to resolve references and frame numbers, and reads no image: a third of a full
    /// pass's time), run in the folder so the figures are found, its log and auxiliary files in FOLDER/latex. A failed
    /// compilation is an error naming the log and its first error line.</summary>
    public static void Compile(string pdflatex, string folder, string name)
    {
        string build = Path.Combine(folder, BuildFolder);
        Directory.CreateDirectory(build);
        for (int pass = 0; pass < 2; pass++)
        {
            string[] draft = pass == 0 ? ["-draftmode"] : [];
            var start = new ProcessStartInfo(pdflatex, [.. draft, "-interaction=nonstopmode", "-halt-on-error", $"-output-directory={BuildFolder}", $"{name}.tex"])
                { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
            using var process = Process.Start(start) ?? throw new UserError($"could not start {pdflatex}");
            process.StandardInput.Close();
            var stderr = process.StandardError.ReadToEndAsync();
            process.StandardOutput.ReadToEnd();
            stderr.Wait();
            process.WaitForExit();
            if (process.ExitCode != 0)
            {
                string log = Path.Combine(build, name + ".log");
                string error = File.Exists(log) ? File.ReadLines(log).FirstOrDefault(l => l.StartsWith('!')) ?? "" : "";
                throw new UserError($"pdflatex failed on {Path.Combine(folder, name + ".tex")} ({error.TrimStart('!', ' ')}); see {log}");
            }
        }
        AtomicFile.Copy(Path.Combine(build, name + ".pdf"), Path.Combine(folder, name + ".pdf"));
    }
}
