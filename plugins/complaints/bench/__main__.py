import sys

from complaints.bench.run import main

sys.exit(main())
