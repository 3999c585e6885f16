# Plots for bench/results (run by bench/run.sh inside the results folder).
set terminal pngcairo size 900,520 noenhanced font ",10"
set style fill solid 0.8 border -1
set grid ytics

# 1. messages per relay CPU-second
if (system("test -s msgs.dat && echo y") eq "y") {
    set output "msgs.png"
    set title "Relayed DATA messages per relay CPU-second (higher is better)"
    set style data histograms
    set style histogram clustered gap 1
    set logscale y
    set ylabel "messages / relay CPU-s (log)"
    set key top right autotitle columnheader
    N = int(system("head -1 msgs.dat | wc -w"))
    plot for [i=2:N] "msgs.dat" using i:xtic(1)
    unset logscale y
    set key noautotitle
}

# 2. bulk bytes
if (system("test -s bulk.dat && echo y") eq "y") {
    set output "bulk.png"
    set title "64 KiB messages: payload GB per relay CPU-second"
    set style data histograms
    set style histogram clustered gap 1
    set ylabel "GB / relay CPU-s"
    set yrange [0:*]
    unset key
    plot "bulk.dat" using 2:xtic(1) lc rgb "#4472c4", \
         1.5 with lines dt 2 lc rgb "red" title "target 1.5"
    set autoscale y
}

# 3. pairing latency CDF
files = system("ls cdf-*.dat 2>/dev/null")
if (strlen(files) > 0) {
    set output "pairing.png"
    set title "Pairing latency (JOIN -> both JOINED), CDF"
    set style data lines
    set logscale x
    set xlabel "microseconds (log)"
    set ylabel "fraction of pairings"
    set yrange [0:1]
    set key bottom right
    set arrow 1 from 1000, graph 0 to 1000, graph 1 nohead lw 2 lc rgb "gray40"
    set label 1 "1 ms" at 1000, graph 0.03 offset 0.5, 0
    normal = system("ls cdf-*.dat | grep -v -- '-rt.dat'")
    rt = system("ls cdf-*-rt.dat 2>/dev/null")
    plot for [f in normal] f using 1:2 with lines lw 2 \
             title substr(f, 5, strlen(f) - 4), \
         for [f in rt] f using 1:2 with lines lw 1 dt 2 \
             title substr(f, 5, strlen(f) - 4)
    unset arrow 1
    unset label 1
    unset logscale x
    set autoscale y
    unset xlabel
}

# 4. memory
if (system("test -s memory.dat && echo y") eq "y") {
    set output "memory.png"
    set title "Relay RSS growth: per idle socket and per active room"
    set style data histograms
    set style histogram clustered gap 1
    set ylabel "KiB"
    set yrange [0:*]
    set key top left
    plot "memory.dat" using 2:xtic(1) title "per idle socket", \
         "" using 3 title "per room after use", \
         "" using 4 title "per active room", \
         16 with lines dt 2 lc rgb "red" title "16 KiB", \
         64 with lines dt 3 lc rgb "dark-red" title "64 KiB"
    set autoscale y
}

# 5. workers
if (system("test -s workers.dat && echo y") eq "y") {
    set output "workers.png"
    set title "worker_processes: JSON 200 B"
    set style data linespoints
    set xlabel "worker_processes"
    set ylabel "messages / relay CPU-s"
    set y2label "messages / s (wall)"
    set y2tics
    set xtics (1, 2, 4)
    set yrange [0:*]
    set y2range [0:*]
    set key bottom right
    plot "workers.dat" using 1:2 axes x1y1 lw 2 title "per relay CPU-s", \
         "" using 1:3 axes x1y2 lw 2 title "wall"
}
